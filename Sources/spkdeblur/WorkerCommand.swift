import ArgumentParser
import Deblur
import Foundation
import Pipeline
import Stages
import Tensor

/// `spkdeblur worker`: serves a `remote-deblur` stage's jobs (docs/protocol.md, work protocol).
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Deblur frames for a remote-deblur stage over ZeroMQ (a worker of a farm).",
        discussion: """
            Connects to the stage's endpoint, announces its model (name, SHA-256 of the weights, precision) \
            and serves jobs until stopped. The stage uses only workers whose model equals its own; a worker \
            it refuses exits with the reason. Killing a worker at any moment loses nothing: its frames are \
            re-done by others. See README, "Worker farm".
            """)

    @Option(help: "The stage's endpoint, e.g. tcp://127.0.0.1:5570.") var connect: String
    @Option(help: "Method: spkdeblurnet (default), classical or passthrough.") var model: ModelChoice.Kind?
    @Option(help: "Checkpoint (.pth or .safetensors) or embedded:NAME (default: the embedded model).")
    var weights: String?
    @Option(help: "Model config JSON (reference constructor keywords).") var config: String?
    @Option(help: "fp32 or bf16.") var precision: Precision = .fp32
    @Option(help: "CPU threads (default: all cores).") var threads: Int?
    @Option(help: "Jobs accepted at once (1...1024).") var credit = 2
    @Option(help: "Fixed time per frame in ms on top of the model's (a stand-in worker for tests and benchmarks).")
    var serviceMs = 0.0
    @Option(help: "CurveZMQ: the stage's public key file (.pub); needs --curve-key.") var curveServerKey: String?
    @Option(help: "CurveZMQ: this worker's secret key file (.key, from spkdeblur keys).") var curveKey: String?

    func validate() throws {
        guard (1...1024).contains(credit) else { throw ValidationError("--credit \(credit) must be in 1...1024") }
        guard serviceMs.isFinite, (0...3_600_000).contains(serviceMs) else {
            throw ValidationError("--service-ms \(serviceMs) must be in 0...3600000")
        }
        if (curveServerKey == nil) != (curveKey == nil) {
            throw ValidationError("--curve-server-key and --curve-key go together")
        }
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads \(threads) must be in 1...1024")
        }
    }

    func run() throws {
        let resolved = try resolveModel(
            model: model, weights: weights, config: config, threads: threads, precision: precision)
        let worker = DeblurWorker(
            model: resolved, precision: precision.rawValue, credit: credit,
            serviceTime: .milliseconds(Int64(serviceMs)))
        printError("worker: \(resolved.identity.name) (\(precision.rawValue)), connecting to \(connect)")
        // Own handlers, so a worker started by a process that ignores SIGTERM (children inherit
        // ignored signals) still stops: the first signal finishes the job in hand, the second
        // exits at once.
        let trap = SignalTrap(shutdown: ShutdownSignal()) { name in
            printError("worker: \(name): stopping after the job in hand (again to abort)")
            worker.stop()
        }
        defer { withExtendedLifetime(trap) {} }
        do {
            let curve = try curveServerKey.map { server in
                (serverKey: try CurveKeys.read(server), secretKey: try CurveKeys.read(curveKey ?? ""))
            }
            try worker.run(connect: connect, curve: curve)
        } catch { throw RunError("\(error)") }
    }
}
