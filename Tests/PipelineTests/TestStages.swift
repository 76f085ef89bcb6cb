import Foundation

@testable import Pipeline

/// Test stage kinds exercising the runtime (the product's real stages live in Stages).
struct Tick: Sendable, LatencyTracked {
    var index: Int
    var mediaNanos: Int64
    var ingestedAt: Duration
}

let ticks = PortType("ticks")
let words = PortType("words")

/// Emits `count` ticks, `spacing_ms` apart in media time, paced by the pipeline clock.
struct CountingSource: Stage {
    let count: Int
    let spacing: Int64
    func run(_ context: StageContext) async throws {
        for i in 0..<count {
            if context.shutdown.isRequested { break }
            let t = Int64(i) * spacing
            try await context.pacer.wait(untilMedia: t)
            await context.send("out", Tick(index: i, mediaNanos: t, ingestedAt: context.clock.now()))
        }
    }
}

/// Records what arrives; fails at item `failAt` when set.
final class Collector: Stage, @unchecked Sendable {
    // Invariant: `items` is only touched under `lock`.
    private let lock = NSLock()
    private var items: [Tick] = []
    let failAt: Int?
    init(failAt: Int? = nil) { self.failAt = failAt }
    var received: [Tick] { lock.withLock { items } }
    func run(_ context: StageContext) async throws {
        while let t = try await context.receive("in", as: Tick.self) {
            if let failAt, t.index == failAt { throw CollectorError() }
            lock.withLock { items.append(t) }
            context.pipelineMetrics.latency.record(context.clock.now() - t.ingestedAt)
        }
    }
}

struct CollectorError: Error, CustomStringConvertible {
    var description: String { "disk on fire" }
}

func testRegistry(collector: Collector) -> StageRegistry {
    var r = StageRegistry()
    r.register(
        StageKind(
            name: "counter", summary: "emits ticks",
            parameters: [
                ParameterSpec("count", .int(0...1_000_000), default: .int(10), "ticks"),
                ParameterSpec("spacing_ms", .double(0...1000), default: .double(1), "media spacing"),
                ParameterSpec("label", .string, optional: true, "free text"),
            ],
            inputs: [], outputs: [PortSpec("out", ticks)],
            make: { p, _ in
                CountingSource(count: p.int("count") ?? 10, spacing: Int64((p.double("spacing_ms") ?? 1) * 1e6))
            }))
    r.register(
        StageKind(
            name: "collector", summary: "collects",
            parameters: [ParameterSpec("mode", .choice(["a", "b"]), default: .string("a"), "mode")],
            inputs: [PortSpec("in", ticks)], outputs: [], make: { _, _ in collector }))
    r.register(
        StageKind(
            name: "speaker", summary: "emits words", parameters: [], inputs: [], outputs: [PortSpec("out", words)],
            make: { _, _ in CountingSource(count: 1, spacing: 1) }))
    return r
}
