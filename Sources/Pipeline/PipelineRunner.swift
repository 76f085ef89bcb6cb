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
        // Each stage's channels, in one pass over the edges (not one pass per stage: that was
        // quadratic, minutes for 60,000 stages).
        var inputsOf: [String: [String: BoundedChannel<any Sendable>]] = [:]
        var outputsOf: [String: [String: [BoundedChannel<any Sendable>]]] = [:]
        for (i, e) in graph.edges.enumerated() {
            guard let c = channels[i] else { continue }
            inputsOf[e.toStage, default: [:]][e.toPort] = c
            outputsOf[e.fromStage, default: [:]][e.fromPort, default: []].append(c)
        }
        await withTaskGroup(of: Void.self) { group in
            for (node, stage) in stages {
                let inputs = inputsOf[node.name] ?? [:]
                let outputs = outputsOf[node.name] ?? [:]
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
                    }
                    // A stage that returned reads nothing more: its senders must not wait on it.
                    for c in inputs.values { c.finish() }
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
