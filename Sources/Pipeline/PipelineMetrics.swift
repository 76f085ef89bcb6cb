import Foundation
import Histogram

/// Counters of one stage.
public final class StageMetrics: @unchecked Sendable {
    // Invariant for @unchecked Sendable: the counters are only touched under `lock`.
    private let lock = NSLock()
    private var itemsIn = 0
    private var itemsOut = 0
    private var busy: Duration = .zero
    private var custom: [String: Int] = [:]
    /// Stage name.
    public let name: String

    init(name: String) { self.name = name }

    func countIn() { lock.withLock { itemsIn += 1 } }
    func countOut() { lock.withLock { itemsOut += 1 } }
    func addBusy(_ d: Duration) { lock.withLock { busy += d } }

    /// Adds to a named counter (drops by timeout, malformed messages, ...).
    public func count(_ counter: String, by n: Int = 1) { lock.withLock { custom[counter, default: 0] += n } }

    /// A snapshot.
    public var snapshot: Snapshot {
        lock.withLock {
            Snapshot(name: name, itemsIn: itemsIn, itemsOut: itemsOut, busySeconds: busy.seconds, counters: custom)
        }
    }

    /// Stage counters at one moment.
    public struct Snapshot: Sendable, Codable, Equatable {
        public var name: String
        public var itemsIn: Int
        public var itemsOut: Int
        public var busySeconds: Double
        public var counters: [String: Int]
    }
}

/// Records durations into an HdrHistogram (microsecond resolution).
public final class LatencyRecorder: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `histogram` is only touched under `lock`.
    private let lock = NSLock()
    private var histogram = Histogram<UInt64>(
        highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    /// Creates an empty recorder.
    public init() {}

    /// Records one duration (negative ones count as zero).
    public func record(_ d: Duration) {
        let us = max(0, Int64(d.seconds * 1e6))
        lock.withLock { _ = histogram.record(UInt64(us)) }
    }

    /// Samples recorded.
    public var count: Int { lock.withLock { Int(histogram.totalCount) } }

    /// The value at a percentile (0...100), in milliseconds.
    public func percentileMilliseconds(_ p: Double) -> Double {
        lock.withLock { histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(p)) / 1000 }
    }
}

/// Metrics of a whole run.
public final class PipelineMetrics: Sendable {
    /// End-to-end latency of items reaching sinks (from ingest).
    public let latency = LatencyRecorder()
    let stages: [String: StageMetrics]
    let edges: [(name: String, channel: BoundedChannel<any Sendable>)]

    init(stages: [String: StageMetrics], edges: [(name: String, channel: BoundedChannel<any Sendable>)]) {
        self.stages = stages
        self.edges = edges
    }

    /// Counters of stage `name`.
    public func stage(_ name: String) -> StageMetrics? { stages[name] }

    /// A serialisable summary.
    public func report(wallSeconds: Double, pacer: Pacer?) -> Report {
        Report(
            wallSeconds: wallSeconds,
            stages: stages.values.map(\.snapshot).sorted { $0.name < $1.name },
            edges: edges.map { e in
                let s = e.channel.statistics
                return Report.Edge(
                    name: e.name, capacity: e.channel.capacity, policy: e.channel.policy.rawValue,
                    accepted: s.accepted, dropped: s.dropped, maxDepth: s.maxDepth, depth: s.depth)
            },
            latencyMs: Report.Percentiles(
                count: latency.count, p50: latency.percentileMilliseconds(50),
                p99: latency.percentileMilliseconds(99), max: latency.percentileMilliseconds(100)),
            pacingLatenessMs: pacer.map {
                Report.Percentiles(
                    count: $0.lateness.count, p50: $0.lateness.percentileMilliseconds(50),
                    p99: $0.lateness.percentileMilliseconds(99), max: $0.lateness.percentileMilliseconds(100))
            })
    }

    /// What `--metrics-json` writes.
    public struct Report: Sendable, Codable {
        public struct Edge: Sendable, Codable {
            public var name: String
            public var capacity: Int
            public var policy: String
            public var accepted: Int
            public var dropped: Int
            public var maxDepth: Int
            /// Items queued when the report was made (live views poll it).
            public var depth: Int
        }
        public struct Percentiles: Sendable, Codable {
            public var count: Int
            public var p50: Double
            public var p99: Double
            public var max: Double
        }
        public var wallSeconds: Double
        public var stages: [StageMetrics.Snapshot]
        public var edges: [Edge]
        public var latencyMs: Percentiles
        public var pacingLatenessMs: Percentiles?

        static func pad(_ s: String, _ n: Int) -> String {
            s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
        }

        /// A human-readable table.
        public func table() -> String {
            var lines: [String] = []
            lines.append(String(format: "pipeline finished in %.2f s", wallSeconds))
            lines.append("stage                 in      out   busy s  counters")
            for s in stages {
                let extra = s.counters.keys.sorted().map { "\($0)=\(s.counters[$0] ?? 0)" }.joined(separator: " ")
                lines.append(
                    Self.pad(s.name, 18) + String(format: " %6d  %7d  %7.2f  ", s.itemsIn, s.itemsOut, s.busySeconds)
                        + extra)
            }
            lines.append("edge                          capacity policy       accepted dropped max-depth")
            for e in edges {
                lines.append(
                    Self.pad(e.name, 30) + String(format: " %6d  ", e.capacity) + Self.pad(e.policy, 12)
                        + String(format: " %7d %7d %7d", e.accepted, e.dropped, e.maxDepth))
            }
            if latencyMs.count > 0 {
                lines.append(
                    String(
                        format: "end-to-end latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d frames",
                        latencyMs.p50, latencyMs.p99, latencyMs.max, latencyMs.count))
            }
            if let p = pacingLatenessMs, p.count > 0 {
                lines.append(
                    String(
                        format: "replay pacing error: p50 %.3f ms, p99 %.3f ms over %d releases", p.p50, p.p99, p.count)
                )
            }
            return lines.joined(separator: "\n")
        }
    }
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) * 1e-18
    }
}
