import Foundation

/// Runs a validated pipeline: one task per stage, a bounded channel per edge.
///
/// When a stage returns, its outputs are finished (end of stream flows downstream). When a
/// stage throws, shutdown is requested (sources stop), its inputs and outputs are finished so
/// nothing waits on it, the other stages drain what was accepted, and the run throws
/// ``PipelineError/stageFailed(stage:underlying:)`` naming the first failing stage.
public final class PipelineRunner: Sendable {
    /// The graph.
    public let graph: PipelineGraph
    /// The shutdown request (trigger it to drain: sources stop, sinks finish).
    public let shutdown: ShutdownSignal
    /// The clock.
    public let clock: any PipelineClock
    /// Replay pacing.
    public let pacer: Pacer
    /// Metrics of this run.
    public let metrics: PipelineMetrics
    let stages: [(PipelineGraph.StageNode, any Stage)]
    let channels: [Int: BoundedChannel<any Sendable>]

    /// Builds every stage (factories may throw, naming the stage).
    /// - Throws: ``PipelineError/stageFailed(stage:underlying:)`` when a stage cannot be built.
    public init(
        graph: PipelineGraph, clock: any PipelineClock = SystemPipelineClock(),
        shutdown: ShutdownSignal = ShutdownSignal()
    ) throws {
        self.graph = graph
        self.clock = clock
        self.shutdown = shutdown
        pacer = Pacer(speed: graph.clock.speed, clock: clock)
        var built: [(PipelineGraph.StageNode, any Stage)] = []
        for node in graph.stages {
            let env = StageEnvironment(descriptionText: graph.text, stageName: node.name, clock: graph.clock)
            do {
                built.append((node, try node.kind.make(node.parameters, env)))
            } catch {
                throw PipelineError.stageFailed(stage: node.name, underlying: error)
            }
        }
        stages = built
        var ch: [Int: BoundedChannel<any Sendable>] = [:]
        for (i, e) in graph.edges.enumerated() { ch[i] = BoundedChannel(capacity: e.capacity, policy: e.policy) }
        channels = ch
        metrics = PipelineMetrics(
            stages: Dictionary(uniqueKeysWithValues: graph.stages.map { ($0.name, StageMetrics(name: $0.name)) }),
            edges: graph.edges.enumerated().compactMap { i, e in ch[i].map { (e.name, $0) } })
    }

    /// Runs until every stage has finished.
    /// - Returns: the metrics report.
    /// - Throws: ``PipelineError/stageFailed(stage:underlying:)`` for the first stage that failed.
    @discardableResult
    public func run() async throws -> PipelineMetrics.Report {
        let start = clock.now()
        let failure = FirstFailure()
        await withTaskGroup(of: Void.self) { group in
            for (node, stage) in stages {
                var inputs: [String: BoundedChannel<any Sendable>] = [:]
                var outputs: [String: [BoundedChannel<any Sendable>]] = [:]
                for (i, e) in graph.edges.enumerated() {
                    guard let c = channels[i] else { continue }
                    if e.toStage == node.name { inputs[e.toPort] = c }
                    if e.fromStage == node.name { outputs[e.fromPort, default: []].append(c) }
                }
                let context = StageContext(
                    name: node.name, shutdown: shutdown, clock: clock, pacer: pacer,
                    metrics: metrics.stage(node.name) ?? StageMetrics(name: node.name), pipelineMetrics: metrics,
                    inputs: inputs, outputs: outputs)
                let shutdown = shutdown
                group.addTask {
                    do {
                        try await stage.run(context)
                    } catch {
                        failure.record(stage: node.name, error)
                        shutdown.request("stage '\(node.name)' failed")
                        for c in inputs.values { c.finish() }
                    }
                    for list in outputs.values { for c in list { c.finish() } }
                }
            }
        }
        let report = metrics.report(
            wallSeconds: (clock.now() - start).seconds, pacer: graph.clock.speed == nil ? nil : pacer)
        if let (stage, error) = failure.first { throw PipelineError.stageFailed(stage: stage, underlying: error) }
        return report
    }
}

/// The first stage failure of a run.
final class FirstFailure: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: (String, any Error)?
    func record(stage: String, _ error: any Error) { lock.withLock { if value == nil { value = (stage, error) } } }
    var first: (String, any Error)? { lock.withLock { value } }
}

/// A progress line on a terminal: frames done, rate and ETA; plain periodic lines elsewhere.
public final class ProgressReporter: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `timer` is created in start and cancelled in stop,
    // both called from the owning task; the handler only reads Sendable state.
    private var timer: DispatchSourceTimer?
    private let isTerminal: Bool

    /// Creates a reporter writing to standard error.
    public init() { isTerminal = isatty(STDERR_FILENO) == 1 }

    /// Starts reporting `done()` items (of `total`, when known) every `interval`.
    public func start(label: String, total: Int?, interval: Double = 0.25, done: @escaping @Sendable () -> Int) {
        let begin = Date()
        let terminal = isTerminal
        let period = terminal ? interval : max(interval, 5)
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "spkdeblur.progress"))
        t.schedule(deadline: .now() + period, repeating: period)
        t.setEventHandler {
            let n = done()
            let elapsed = Date().timeIntervalSince(begin)
            let rate = elapsed > 0 ? Double(n) / elapsed : 0
            var line = String(format: "%@: %d", label, n)
            if let total {
                line += " / \(total)"
                let width = 24
                let filled = total > 0 ? min(width, width * n / total) : 0
                line =
                    "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
                    + line
                if rate > 0 && n < total { line += String(format: ", ETA %.0f s", Double(total - n) / rate) }
            }
            line += String(format: ", %.1f frames/s", rate)
            let text = terminal ? "\r\u{1B}[2K" + line : line + "\n"
            FileHandle.standardError.write(Data(text.utf8))
        }
        t.resume()
        timer = t
    }

    /// Stops reporting (and ends the terminal line).
    public func stop() {
        timer?.cancel()
        timer = nil
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}
