import Foundation

/// The type of the values a port carries; connected ports must have the same type.
public struct PortType: Hashable, Sendable, CustomStringConvertible {
    /// A short name such as `spike-frames`.
    public let name: String
    /// Creates a port type.
    public init(_ name: String) { self.name = name }
    public var description: String { name }
}

/// An input or output port of a stage kind.
public struct PortSpec: Sendable {
    /// Port name, unique per direction within a stage.
    public let name: String
    /// What it carries.
    public let type: PortType
    /// Whether an input must be connected.
    public let required: Bool

    /// Creates a port.
    public init(_ name: String, _ type: PortType, required: Bool = true) {
        self.name = name
        self.type = type
        self.required = required
    }
}

/// A running stage: reads its inputs, writes its outputs, returns at end of stream.
///
/// A stage returns when its inputs are finished (or, for a source, when its data ends or a
/// shutdown is requested); the runner then finishes its outputs. Throwing stops the pipeline
/// with an error naming the stage; sinks must still close their files (use `defer`).
public protocol Stage: Sendable {
    /// Runs to completion.
    func run(_ context: StageContext) async throws
}

/// Items that carry the time they entered the pipeline, for end-to-end latency.
public protocol LatencyTracked: Sendable {
    /// When the item's newest input was ingested, on the pipeline's clock.
    var ingestedAt: Duration { get }
}

/// What a stage sees of the running pipeline.
public final class StageContext: Sendable {
    /// The stage's name in the description file.
    public let name: String
    /// The shared shutdown request.
    public let shutdown: ShutdownSignal
    /// The pipeline clock.
    public let clock: any PipelineClock
    /// Replay pacing (sources wait on it).
    public let pacer: Pacer
    /// This stage's counters.
    public let metrics: StageMetrics
    /// The whole pipeline's metrics (sinks record latency here).
    public let pipelineMetrics: PipelineMetrics
    let inputs: [String: BoundedChannel<any Sendable>]
    let outputs: [String: [BoundedChannel<any Sendable>]]

    init(
        name: String, shutdown: ShutdownSignal, clock: any PipelineClock, pacer: Pacer, metrics: StageMetrics,
        pipelineMetrics: PipelineMetrics, inputs: [String: BoundedChannel<any Sendable>],
        outputs: [String: [BoundedChannel<any Sendable>]]
    ) {
        self.name = name
        self.shutdown = shutdown
        self.clock = clock
        self.pacer = pacer
        self.metrics = metrics
        self.pipelineMetrics = pipelineMetrics
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Whether input `port` is connected.
    public func isConnected(input port: String) -> Bool { inputs[port] != nil }

    /// Whether output `port` feeds anything.
    public func isConnected(output port: String) -> Bool { !(outputs[port]?.isEmpty ?? true) }

    /// The next item of input `port` as `T`, or nil at end of stream (or when unconnected).
    /// - Throws: ``PipelineError/typeMismatch(stage:port:expected:got:)`` for an item of
    ///   another type (a broken graph, normally caught by validation).
    public func receive<T: Sendable>(_ port: String, as type: T.Type = T.self) async throws -> T? {
        guard let channel = inputs[port] else { return nil }
        guard let item = await channel.receive() else { return nil }
        metrics.countIn()
        guard let typed = item as? T else {
            throw PipelineError.typeMismatch(
                stage: name, port: port, expected: "\(T.self)", got: "\(Swift.type(of: item))")
        }
        return typed
    }

    /// Sends an item to every edge of output `port` (waiting, dropping or discarding per
    /// each edge's policy).
    public func send(_ port: String, _ item: any Sendable) async {
        guard let channels = outputs[port] else { return }
        metrics.countOut()
        for c in channels { await c.send(item) }
    }

    /// Measures the busy time of `work`.
    public func busy<R>(_ work: () async throws -> R) async rethrows -> R {
        let start = ContinuousClock.now
        defer { metrics.addBusy(ContinuousClock.now - start) }
        return try await work()
    }
}
