import SpikeCore

/// An image-like float tensor as the work protocol carries it (the blurry input, the outputs):
/// a shape `channels, height, width` and the values in `[height, width, channels]` order
/// (channels fastest, rows top to bottom), little-endian float32.
public struct FloatPlanes: Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    /// `channels * height * width` values.
    public var values: [Float]

    /// Creates planes; `values.count` must be `channels * height * width`.
    public init(channels: Int, height: Int, width: Int, values: [Float]) {
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }

    /// The largest side accepted when decoding.
    public static let maximumSide = 65_536
    /// The largest value count accepted when decoding (400 M floats, 1.6 GB).
    public static let maximumValues = 400_000_000

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 12 + 4 * values.count)
        w.write(UInt32(channels))
        w.write(UInt32(height))
        w.write(UInt32(width))
        for v in values { w.write(v.bitPattern) }
        return w.bytes
    }

    static func decode(_ part: [UInt8], field: String) throws(WireProtocolError) -> FloatPlanes {
        guard part.count >= 12 else {
            throw .malformed(
                .shortHeader, detail: "WRK1 \(field) is \(part.count) bytes, expected a 12-byte shape first")
        }
        var r = ByteReader(part)
        let c = Int(r.read(UInt32.self)), h = Int(r.read(UInt32.self)), w = Int(r.read(UInt32.self))
        guard (1...16).contains(c), (1...maximumSide).contains(h), (1...maximumSide).contains(w),
            c * h * w <= maximumValues
        else {
            throw .malformed(.invalidGeometry, detail: "WRK1 \(field) shape \(c)x\(h)x\(w) is out of range")
        }
        let n = c * h * w
        guard part.count == 12 + 4 * n else {
            throw .malformed(
                .payloadLengthMismatch, detail: "WRK1 \(field) is \(part.count) bytes, expected 12 + 4 x \(c)x\(h)x\(w)"
            )
        }
        var values = [Float](repeating: 0, count: n)
        part.withUnsafeBytes { raw in
            for i in 0..<n {
                values[i] = Float(
                    bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12 + 4 * i, as: UInt32.self)))
            }
        }
        return FloatPlanes(channels: c, height: h, width: w, values: values)
    }
}

/// What a worker runs and returns: the identity it announces, so that a coordinator only
/// uses workers that compute what the pipeline's own deblur stage would.
public struct WorkerIdentity: Sendable, Equatable, CustomStringConvertible {
    /// The model's name, e.g. `spkdeblurnet/compact48` or `classical`.
    public var model: String
    /// SHA-256 of the weights (empty for methods without weights).
    public var weightsSHA256: String
    /// `fp32` or `bf16`.
    public var precision: String

    public init(model: String, weightsSHA256: String, precision: String) {
        self.model = model
        self.weightsSHA256 = weightsSHA256
        self.precision = precision
    }

    public var description: String {
        "\(model) (\(precision), weights \(weightsSHA256.isEmpty ? "none" : String(weightsSHA256.prefix(12))))"
    }

    func encoded() -> [UInt8] { Array("\(model)\n\(weightsSHA256)\n\(precision)".utf8) }

    static func decode(_ part: [UInt8]) throws(WireProtocolError) -> WorkerIdentity {
        let fields = String(decoding: part, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard part.count <= 4096, fields.count == 3 else {
            throw .malformed(
                .payloadLengthMismatch, detail: "WRK1 ready: identity must be 3 lines, model/sha/precision")
        }
        return WorkerIdentity(model: String(fields[0]), weightsSHA256: String(fields[1]), precision: String(fields[2]))
    }
}

/// One message of the work protocol between a coordinator (ROUTER, binds) and its workers
/// (DEALER, connect); see docs/protocol.md, "Work protocol".
///
/// Part 1 is a 16-byte header: magic `WRK1`, u16 version, u8 kind, u8 reserved, u64 job id
/// (0 when the kind has none), little-endian. The other parts depend on the kind.
public enum WorkMessage: Sendable, Equatable {
    /// Worker -> coordinator, first: identity and credit (jobs it accepts at once).
    case ready(WorkerIdentity, credit: Int)
    /// Either way, when idle: still alive.
    case heartbeat
    /// Coordinator -> worker: one window to deblur.
    case job(id: UInt64, blur: FloatPlanes, spikes: PackedSpikeFrames, tfi: [Float])
    /// Worker -> coordinator: the outputs of job `id`.
    case result(id: UInt64, sharp: FloatPlanes, spikeRecon: FloatPlanes?, quickSharp: FloatPlanes?)
    /// Worker -> coordinator: job `id` failed on the worker (the coordinator re-dispatches).
    case failed(id: UInt64, reason: String)
    /// Coordinator -> worker: not used (wrong model, or misbehaving); the worker should exit.
    case refused(reason: String)

    /// `WRK1`.
    public static let magic: [UInt8] = Array("WRK1".utf8)

    private enum Kind: UInt8 {
        case ready = 1, heartbeat, job, result, failed, refused
    }

    private static func header(_ kind: Kind, id: UInt64 = 0) -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.write(raw: magic)
        w.write(ProtocolVersion.current.rawValue)
        w.write(kind.rawValue)
        w.write(UInt8(0))
        w.write(id)
        return w.bytes
    }

    /// The parts to send.
    public func encoded() -> [[UInt8]] {
        switch self {
        case .ready(let identity, let credit):
            var w = ByteWriter(capacity: 4)
            w.write(UInt32(clamping: credit))
            return [Self.header(.ready), identity.encoded(), w.bytes]
        case .heartbeat:
            return [Self.header(.heartbeat)]
        case .job(let id, let blur, let spikes, let tfi):
            var s = ByteWriter(capacity: 12)
            s.write(UInt32(spikes.count))
            s.write(UInt32(spikes.geometry.height))
            s.write(UInt32(spikes.geometry.width))
            var t = ByteWriter(capacity: 4 * tfi.count)
            for v in tfi { t.write(v.bitPattern) }
            return [Self.header(.job, id: id), blur.encoded(), s.bytes + spikes.bytes, t.bytes]
        case .result(let id, let sharp, let recon, let quick):
            return [Self.header(.result, id: id), sharp.encoded(), recon?.encoded() ?? [], quick?.encoded() ?? []]
        case .failed(let id, let reason):
            return [Self.header(.failed, id: id), Array(reason.utf8.prefix(1000))]
        case .refused(let reason):
            return [Self.header(.refused), Array(reason.utf8.prefix(1000))]
        }
    }

    /// Decodes and checks a message (every size is checked before it is used).
    public init(parts: [[UInt8]]) throws(WireProtocolError) {
        guard let first = parts.first, first.count >= 16 else {
            throw .malformed(.shortHeader, detail: "WRK1 header missing or shorter than 16 bytes")
        }
        guard Array(first[0..<4]) == Self.magic else {
            throw .malformed(.badMagic, detail: "WRK1 message does not start with magic \"WRK1\"")
        }
        var r = ByteReader(first)
        r.skip(4)
        let version = ProtocolVersion(rawValue: r.read(UInt16.self))
        guard ProtocolVersion.current.accepts(version) else {
            throw .unsupportedVersion(magic: "WRK1", found: version, supported: .current)
        }
        let code: UInt8 = r.read()
        r.skip(1)
        let id: UInt64 = r.read()
        guard let kind = Kind(rawValue: code) else {
            throw .malformed(.badMagic, detail: "WRK1 message kind \(code) is not defined (1...6)")
        }
        func expect(_ n: Int) throws(WireProtocolError) {
            guard parts.count == n else {
                throw .malformed(
                    .wrongPartCount, detail: "WRK1 \(kind) message has \(parts.count) parts, expected \(n)")
            }
        }
        switch kind {
        case .ready:
            try expect(3)
            guard parts[2].count == 4 else {
                throw .malformed(.payloadLengthMismatch, detail: "WRK1 ready: credit must be 4 bytes")
            }
            var c = ByteReader(parts[2])
            let credit = Int(c.read(UInt32.self))
            guard (1...1024).contains(credit) else {
                throw .malformed(.payloadLengthMismatch, detail: "WRK1 ready: credit \(credit) is outside 1...1024")
            }
            self = .ready(try WorkerIdentity.decode(parts[1]), credit: credit)
        case .heartbeat:
            try expect(1)
            self = .heartbeat
        case .job:
            try expect(4)
            let blur = try FloatPlanes.decode(parts[1], field: "job blur")
            guard parts[2].count >= 12 else {
                throw .malformed(.shortHeader, detail: "WRK1 job spikes shorter than their 12-byte shape")
            }
            var s = ByteReader(parts[2])
            let t = Int(s.read(UInt32.self)), h = Int(s.read(UInt32.self)), w = Int(s.read(UInt32.self))
            let geometry: SpikeGeometry
            let frames: PackedSpikeFrames
            do {
                geometry = try SpikeGeometry(height: h, width: w)
                guard (1...100_000).contains(t), parts[2].count == 12 + t * geometry.bytesPerFrame else {
                    throw WireProtocolError.malformed(
                        .packedSizeMismatch,
                        detail: "WRK1 job spikes: \(parts[2].count - 12) bytes for \(t) frames of \(h)x\(w)")
                }
                frames = try PackedSpikeFrames(geometry: geometry, bytes: Array(parts[2][12...]))
            } catch let e as WireProtocolError {
                throw e
            } catch {
                throw .malformed(.invalidGeometry, detail: "WRK1 job spikes: \(error)")
            }
            guard parts[3].count == 4 * h * w else {
                throw .malformed(
                    .payloadLengthMismatch, detail: "WRK1 job TFI is \(parts[3].count) bytes, expected 4 x \(h)x\(w)")
            }
            var tfi = [Float](repeating: 0, count: h * w)
            parts[3].withUnsafeBytes { raw in
                for i in 0..<(h * w) {
                    tfi[i] = Float(
                        bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
            self = .job(id: id, blur: blur, spikes: frames, tfi: tfi)
        case .result:
            try expect(4)
            let sharp = try FloatPlanes.decode(parts[1], field: "result sharp")
            let recon = parts[2].isEmpty ? nil : try FloatPlanes.decode(parts[2], field: "result spike_recon")
            let quick = parts[3].isEmpty ? nil : try FloatPlanes.decode(parts[3], field: "result quick_sharp")
            self = .result(id: id, sharp: sharp, spikeRecon: recon, quickSharp: quick)
        case .failed:
            try expect(2)
            self = .failed(id: id, reason: String(decoding: parts[1].prefix(1000), as: UTF8.self))
        case .refused:
            try expect(2)
            self = .refused(reason: String(decoding: parts[1].prefix(1000), as: UTF8.self))
        }
    }
}
