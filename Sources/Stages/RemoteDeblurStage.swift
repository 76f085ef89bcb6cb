import Deblur
import Foundation
import Pipeline
import Tensor
import WireProtocol
import ZeroMQ

/// `remote-deblur`: deblurs on a farm of `spkdeblur worker` processes over ZeroMQ (work
/// protocol: docs/protocol.md), with the same outputs as the `deblur` stage, in order.
///
/// The stage binds `endpoint`; workers connect and announce their model, and only those
/// whose model, weights and precision equal this stage's are used. At most `credit` jobs are
/// in flight per worker and `window` in all (the reorder buffer); jobs of lost workers (no
/// heartbeat for three periods), late ones (`deadline_ms`) and failed ones go to another
/// worker, and late duplicates are discarded. With `fallback: local` jobs that wait
/// `fallback_ms` with no worker connected are deblurred here.
struct RemoteDeblurStage: Stage {
    let configuration: WorkCoordinator.Configuration
    let window: Int
    let local: ResolvedModel
    let info: ModelInfo

    static let kind = StageKind(
        name: "remote-deblur", summary: "deblurs on spkdeblur worker processes over ZeroMQ, in order, no frame lost",
        parameters: [
            ParameterSpec(
                "endpoint", .string, default: .string("tcp://127.0.0.1:5570"), "endpoint to bind for workers"),
            ParameterSpec(
                "allow_remote", .bool, default: .bool(false),
                "allow binding an address other than loopback (workers on other machines)"),
            ParameterSpec(
                "model", .choice(["spkdeblurnet", "classical", "passthrough"]), default: .string("spkdeblurnet"),
                "the model every worker must run (and the local fallback)"),
            ParameterSpec("weights", .path, optional: true, "checkpoint or embedded:NAME, as for deblur"),
            ParameterSpec("config", .path, optional: true, "model config JSON, as for deblur"),
            ParameterSpec("precision", .choice(["fp32", "bf16"]), default: .string("fp32"), "as for deblur"),
            ParameterSpec("credit", .int(1...64), default: .int(2), "most jobs in flight per worker"),
            ParameterSpec("window", .int(1...4096), default: .int(32), "most jobs in flight in all (reorder buffer)"),
            ParameterSpec(
                "deadline_ms", .double(10...3_600_000), default: .double(60_000),
                "a job not answered within this goes to another worker"),
            ParameterSpec("heartbeat_ms", .double(10...60_000), default: .double(500), "heartbeat period"),
            ParameterSpec(
                "fallback", .choice(["local", "wait"]), default: .string("local"),
                "with no worker connected: deblur here after fallback_ms, or wait for one"),
            ParameterSpec("fallback_ms", .double(0...3_600_000), default: .double(2000), "see fallback"),
            ParameterSpec(
                "curve_secret_key", .path, optional: true,
                "CurveZMQ: this stage's secret key file (spkdeblur keys); workers then need its .pub"),
            ParameterSpec(
                "curve_clients", .path, optional: true, "CurveZMQ: folder of the accepted workers' .pub key files"),
        ],
        inputs: [PortSpec("fused", Ports.fused)], outputs: [PortSpec("frames", Ports.deblurred)],
        make: { p, env in
            let endpoint = p.string("endpoint") ?? "tcp://127.0.0.1:5570"
            if p.bool("allow_remote") != true, !Self.isLoopback(endpoint) {
                throw StageError(
                    "stage '\(env.stageName)': endpoint \(endpoint) is not loopback; set allow_remote: true to accept workers from other machines"
                )
            }
            var curve: (String, [String])?
            switch (p.string("curve_secret_key"), p.string("curve_clients")) {
            case (let key?, let clients?): curve = (try CurveKeys.read(key), try CurveKeys.allowed(in: clients))
            case (nil, nil): curve = nil
            default:
                throw StageError("stage '\(env.stageName)': curve_secret_key and curve_clients go together")
            }
            let resolved = try DeblurStage.resolve(p, stage: env.stageName)
            let id = resolved.identity
            let precision = p.string("precision") ?? "fp32"
            return RemoteDeblurStage(
                configuration: .init(
                    name: env.stageName, endpoint: endpoint,
                    identity: WorkerIdentity(model: id.name, weightsSHA256: id.weightsSHA256, precision: precision),
                    credit: p.int("credit") ?? 2, deadline: .milliseconds(Int64(p.double("deadline_ms") ?? 60_000)),
                    heartbeat: .milliseconds(Int64(p.double("heartbeat_ms") ?? 500)),
                    fallbackAfter: p.string("fallback") == "wait"
                        ? nil : .milliseconds(Int64(p.double("fallback_ms") ?? 2000)), curve: curve),
                window: p.int("window") ?? 32, local: resolved,
                info: ModelInfo(name: id.name, configJSON: id.configJSON, weightsSHA256: id.weightsSHA256))
        })

    /// Whether `endpoint` only listens on this machine (`tcp://127.x`, `tcp://localhost`,
    /// `ipc://`, `inproc://`).
    static func isLoopback(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://") else { return false }
        let host = endpoint.dropFirst(6).split(separator: ":").first.map(String.init) ?? ""
        return host == "localhost" || host.hasPrefix("127.") || host == "[::1]"
    }

    func run(_ context: StageContext) async throws {
        let coordinator = try WorkCoordinator(configuration)
        FileHandle.standardError.write(
            Data("\(context.name): waiting for workers on \(coordinator.endpoint) (\(configuration.identity))\n".utf8))
        defer { coordinator.stop() }
        // Each exposure with its model input, converted once (the blur map is 4.8 MB at 500x800).
        var items: [UInt64: (item: FusedExposure, input: DeblurInput)] = [:]
        var done: [UInt64: DeblurResult] = [:]
        var nextID: UInt64 = 0, nextOut: UInt64 = 0
        // The stage's own share of the coordinator's cost: encoding jobs, converting results
        // (thread CPU time, nanoseconds; the socket thread measures its own).
        var stageCPU = 0

        func accept(_ event: CoordinatorEvent) throws {
            switch event {
            case .done(let result):
                guard let (item, input) = items[result.id] else { return }
                let blur = input.blur, sharp = result.sharp
                guard sharp.height == blur.height, sharp.width == blur.width, sharp.channels == 3 else {
                    throw StageError(
                        "\(context.name): a worker returned \(sharp.height)x\(sharp.width) for frame \(item.rgb.id)")
                }
                done[result.id] = ThreadCPUTime.measure(into: &stageCPU) {
                    DeblurResult(
                        sharp: sharp.featureMap, spikeRecon: result.spikeRecon?.featureMap,
                        quickSharp: result.quickSharp?.featureMap)
                }
            case .runLocally(let id):
                guard let input = items[id]?.input else { return }
                done[id] = try local.deblurrer.deblur(input)
            }
        }

        func emitReady() async {
            while let out = done.removeValue(forKey: nextOut), let (item, input) = items.removeValue(forKey: nextOut) {
                nextOut += 1
                await context.send(
                    "frames",
                    DeblurredFrame(
                        frameID: item.rgb.id, sharp: out.sharp, spikeRecon: out.spikeRecon, quickSharp: out.quickSharp,
                        blur: input.blur, centerIndex: item.window.centerIndex,
                        exposureStart: item.rgb.exposureStart, exposureEnd: item.rgb.exposureEnd,
                        ingestedAt: item.ingestedAt, model: info))
            }
        }

        while let item = try await context.receive("fused", as: FusedExposure.self) {
            if let t = local.deblurrer.windowLength, item.window.spikes.count != t {
                throw StageError(
                    "\(context.name): windows have \(item.window.spikes.count) spike frames, the model takes \(t)")
            }
            let id = nextID
            nextID += 1
            // The blur map gets room for its wire shape in front, so the job lends it to libzmq
            // as it is (no copy of its 4.8 MB).
            let input = DeblurInput(
                blur: item.rgb.image.featureMap(headroomBytes: 12), spikes: item.window.spikes, tfi: item.window.tfi)
            items[id] = (item, input)
            let parts = ThreadCPUTime.measure(into: &stageCPU) {
                WorkMessage.jobParts(
                    id: id, blur: OutgoingPart(input.blur), spikes: input.spikes, tfi: input.tfi ?? [],
                    bytes: OutgoingPart.bytes)
            }
            coordinator.submit(id: id, parts: parts)
            // The reorder window bounds memory: wait for results while it is full.
            while items.count >= window, let event = await coordinator.events.next() {
                try accept(event)
                await emitReady()
            }
            while let event = coordinator.events.poll() { try accept(event) }
            await emitReady()
        }
        while !items.isEmpty, let event = await coordinator.events.next() {
            try accept(event)
            await emitReady()
        }
        let report = coordinator.report
        for (name, n) in report.counters { context.metrics.count(name, by: n) }
        // The coordinator's own cost per frame: the socket thread's CPU time and the stage's
        // encoding and conversion (docs/performance.md, "Worker farm").
        let socketUs = coordinator.socketThreadCPUNanoseconds / 1000, stageUs = stageCPU / 1000
        context.metrics.count("coordinator-frames", by: Int(nextOut))
        context.metrics.count("coordinator-cpu-us", by: socketUs + stageUs)
        context.metrics.count("coordinator-socket-cpu-us", by: socketUs)
        context.metrics.count("coordinator-stage-cpu-us", by: stageUs)
        for (number, w) in report.workers {
            let sorted = w.latencies.sorted()
            func ms(_ q: Double) -> Int {
                sorted.isEmpty ? 0 : Int(sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))].seconds * 1000)
            }
            context.metrics.count("worker\(number)-frames", by: w.frames)
            context.metrics.count("worker\(number)-busy-ms", by: Int(w.busy.seconds * 1000))
            context.metrics.count("worker\(number)-p50-ms", by: ms(0.5))
            context.metrics.count("worker\(number)-p99-ms", by: ms(0.99))
            context.metrics.count("worker\(number)-failures", by: w.failures)
        }
    }
}

extension FloatPlanes {
    /// The map's shape and values (both channels-last).
    init(_ map: FeatureMap) {
        self.init(channels: map.channels, height: map.height, width: map.width, values: map.data.array)
    }

    /// A feature map with these values.
    var featureMap: FeatureMap { FeatureMap(height: height, width: width, channels: channels, data: values) }
}

extension PlanesView {
    /// A feature map holding the values: over the received buffer itself where the values can
    /// be read in place, else copied once from the part.
    var featureMap: FeatureMap {
        if let (values, owner) = valuesInPlace, let base = values.baseAddress {
            let data = TensorBuffer(adopting: UnsafeMutablePointer(mutating: base), count: values.count, owner: owner)
            return FeatureMap(height: height, width: width, channels: channels, data: data)
        }
        var data = TensorBuffer(uninitialized: count)
        data.withUnsafeMutableBufferPointer { copyValues(into: $0) }
        return FeatureMap(height: height, width: width, channels: channels, data: data)
    }
}

extension OutgoingPart {
    /// The map as a planes part: its storage lent as it is, with the shape written in the room
    /// in front of the values (``TensorBuffer/init(uninitialized:headroomBytes:)``); encoded
    /// (one copy) when the storage has no such room.
    init(_ map: FeatureMap) {
        let shape = EncodedPlanes.shape(channels: map.channels, height: map.height, width: map.width)
        #if _endian(little)
            if let (region, owner) = map.data.lentBytes(prefix: shape) {
                self = .lent(region, owner: owner)
                return
            }
        #endif
        self = .bytes(EncodedPlanes(map).bytes)
    }
}

extension EncodedPlanes {
    /// The map encoded straight from its storage (one copy of the values, no `[Float]`).
    init(_ map: FeatureMap) {
        self = map.data.withUnsafeBufferPointer {
            EncodedPlanes(channels: map.channels, height: map.height, width: map.width, values: $0)
        }
    }
}
