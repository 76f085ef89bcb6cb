import SpikeCore

/// The bytes of one received message part, wherever they are held: an array, or the buffer a
/// transport received them into (a ZeroMQ message kept open), so that a receiver checks and
/// uses big parts where they are.
public protocol WireBytes: Sendable {
    /// Bytes in the part.
    var count: Int { get }
    /// Calls `body` with the bytes.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    /// The bytes at an address that stays valid and unchanged while `owner` lives, for use in
    /// place; nil when they have no fixed address (an array).
    var pinned: (bytes: UnsafeRawBufferPointer, owner: AnyObject & Sendable)? { get }
}

extension Array: WireBytes where Element == UInt8 {
    /// Arrays may move: never pinned.
    public var pinned: (bytes: UnsafeRawBufferPointer, owner: AnyObject & Sendable)? { nil }
}

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

    func encoded() -> [UInt8] { EncodedPlanes(self).bytes }

    static func decode(_ part: [UInt8], field: String) throws(WireProtocolError) -> FloatPlanes {
        try PlanesView(part, field: field).planes
    }
}

/// A received planes part whose shape and length have been checked, with its values still
/// in the message's bytes: ``copyValues(into:)`` moves them once, straight into the caller's
/// storage (a feature map's), without an intermediate `[Float]`.
public struct PlanesView: Sendable {
    public let channels: Int
    public let height: Int
    public let width: Int
    /// The part: the 12-byte shape, then `count` little-endian float32.
    let part: any WireBytes

    /// `channels * height * width`.
    public var count: Int { channels * height * width }

    /// Checks the shape (1...16 channels, sides 1...``FloatPlanes/maximumSide``, at most
    /// ``FloatPlanes/maximumValues`` values) and that the part holds exactly those values.
    init(_ part: any WireBytes, field: String) throws(WireProtocolError) {
        guard part.count >= 12 else {
            throw .malformed(
                .shortHeader, detail: "WRK1 \(field) is \(part.count) bytes, expected a 12-byte shape first")
        }
        var r = ByteReader(part.withUnsafeBytes { Array($0.prefix(12)) })
        let c = Int(r.read(UInt32.self)), h = Int(r.read(UInt32.self)), w = Int(r.read(UInt32.self))
        guard (1...16).contains(c), (1...FloatPlanes.maximumSide).contains(h),
            (1...FloatPlanes.maximumSide).contains(w), c * h * w <= FloatPlanes.maximumValues
        else {
            throw .malformed(.invalidGeometry, detail: "WRK1 \(field) shape \(c)x\(h)x\(w) is out of range")
        }
        guard part.count == 12 + 4 * c * h * w else {
            throw .malformed(
                .payloadLengthMismatch, detail: "WRK1 \(field) is \(part.count) bytes, expected 12 + 4 x \(c)x\(h)x\(w)"
            )
        }
        (channels, height, width, self.part) = (c, h, w, part)
    }

    /// Copies the values into `destination`, which must hold exactly ``count`` floats.
    public func copyValues(into destination: UnsafeMutableBufferPointer<Float>) {
        precondition(destination.count == count, "PlanesView: \(destination.count) floats for \(count) values")
        part.withUnsafeBytes { raw in
            if let source = raw.baseAddress { FloatBytes.load(from: source + 12, into: destination) }
        }
    }

    /// The values where they were received, with what keeps them there, when the part is
    /// pinned (``WireBytes/pinned``) and its floats can be read in place (a little-endian host,
    /// 4-byte aligned); nil otherwise (copy them with ``copyValues(into:)``).
    public var valuesInPlace: (values: UnsafeBufferPointer<Float>, owner: AnyObject & Sendable)? {
        #if _endian(little)
            guard let (bytes, owner) = part.pinned, let base = bytes.baseAddress, bytes.count == 12 + 4 * count else {
                return nil
            }
            let start = base + 12
            guard Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 else { return nil }
            return (UnsafeBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: count), owner)
        #else
            return nil
        #endif
    }

    /// The planes as a value (one copy).
    public var planes: FloatPlanes {
        FloatPlanes(
            channels: channels, height: height, width: width,
            values: [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                copyValues(into: buffer)
                initialized = count
            })
    }
}

/// A `result` message checked but not copied (see ``WorkMessage/resultView(parts:)``).
public struct ResultView: Sendable {
    public let id: UInt64
    public let sharp: PlanesView
    public let spikeRecon: PlanesView?
    public let quickSharp: PlanesView?
}

/// A planes part ready to send (shape, then the values as little-endian float32), encoded
/// once straight from the caller's storage: no intermediate `[Float]`, one copy of the values.
public struct EncodedPlanes: Sendable {
    /// The part's bytes, as ``FloatPlanes`` are laid out on the wire.
    public let bytes: [UInt8]

    /// Encodes `values` (`channels * height * width` of them, `[height, width, channels]`
    /// order). A shape that does not fit the wire's u32 fields, or does not match the count,
    /// is sent as it is and refused by the receiver, which checks every size.
    public init(channels: Int, height: Int, width: Int, values: UnsafeBufferPointer<Float>) {
        bytes = FloatBytes.encode(header: Self.shape(channels: channels, height: height, width: width), values: values)
    }

    /// The 12 bytes a planes part starts with (its shape), for a sender that puts them in front
    /// of values it already holds (``WorkMessage/jobParts(id:blur:spikes:tfi:bytes:)``).
    public static func shape(channels: Int, height: Int, width: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 12)
        w.write(UInt32(clamping: channels))
        w.write(UInt32(clamping: height))
        w.write(UInt32(clamping: width))
        return w.bytes
    }

    /// Encodes `planes`.
    public init(_ planes: FloatPlanes) {
        self = planes.values.withUnsafeBufferPointer {
            EncodedPlanes(channels: planes.channels, height: planes.height, width: planes.width, values: $0)
        }
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

    /// The parts of a `job` message whose blur planes are already encoded (e.g. straight from a
    /// feature map's storage): what `.job(...).encoded()` gives, with each value copied once.
    public static func jobParts(
        id: UInt64, blur: EncodedPlanes, spikes: PackedSpikeFrames, tfi: [Float]
    ) -> [[UInt8]] {
        jobParts(id: id, blur: blur.bytes, spikes: spikes, tfi: tfi) { $0 }
    }

    /// The parts of a `job` message whose blur part the caller provides as a `Part` of its own
    /// (e.g. a transport's lent region holding ``EncodedPlanes/shape(channels:height:width:)``
    /// and the values, sent without a copy); `bytes` wraps the other, encoded parts.
    public static func jobParts<Part>(
        id: UInt64, blur: Part, spikes: PackedSpikeFrames, tfi: [Float], bytes: ([UInt8]) -> Part
    ) -> [Part] {
        var s = ByteWriter(capacity: 12 + spikes.bytes.count)
        s.write(UInt32(clamping: spikes.count))
        s.write(UInt32(clamping: spikes.geometry.height))
        s.write(UInt32(clamping: spikes.geometry.width))
        s.write(raw: spikes.bytes)
        let t = tfi.withUnsafeBufferPointer { FloatBytes.encode(header: [], values: $0) }
        return [bytes(header(.job, id: id)), blur, bytes(s.bytes), bytes(t)]
    }

    /// The parts of a `result` message whose planes are already encoded: what
    /// `.result(...).encoded()` gives, with each value copied once.
    public static func resultParts(
        id: UInt64, sharp: EncodedPlanes, spikeRecon: EncodedPlanes?, quickSharp: EncodedPlanes?
    ) -> [[UInt8]] {
        [header(.result, id: id), sharp.bytes, spikeRecon?.bytes ?? [], quickSharp?.bytes ?? []]
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
            return Self.jobParts(id: id, blur: EncodedPlanes(blur), spikes: spikes, tfi: tfi)
        case .result(let id, let sharp, let recon, let quick):
            return Self.resultParts(
                id: id, sharp: EncodedPlanes(sharp), spikeRecon: recon.map(EncodedPlanes.init),
                quickSharp: quick.map(EncodedPlanes.init))
        case .failed(let id, let reason):
            return [Self.header(.failed, id: id), Array(reason.utf8.prefix(1000))]
        case .refused(let reason):
            return [Self.header(.refused), Array(reason.utf8.prefix(1000))]
        }
    }

    /// A `result` message checked (header, part count, every shape and length, as
    /// ``init(parts:)`` checks it) with its planes left in the parts, so that a receiver copies
    /// each value once, into its own storage; nil for a well-formed message of another kind
    /// (decode that with ``init(parts:)``).
    public static func resultView(parts: [[UInt8]]) throws(WireProtocolError) -> ResultView? {
        try resultView(parts: parts.map { $0 as any WireBytes })
    }

    /// ``resultView(parts:)-([[UInt8]])`` for parts held where they were received: the planes
    /// stay there (``PlanesView/valuesInPlace``).
    public static func resultView(parts: [any WireBytes]) throws(WireProtocolError) -> ResultView? {
        let (kind, id) = try header(of: parts.first.map { $0.withUnsafeBytes { Array($0.prefix(16)) } })
        guard kind == .result else { return nil }
        return try checkedResult(parts, id: id)
    }

    private static func checkedResult(_ parts: [any WireBytes], id: UInt64) throws(WireProtocolError) -> ResultView {
        guard parts.count == 4 else {
            throw .malformed(.wrongPartCount, detail: "WRK1 result message has \(parts.count) parts, expected 4")
        }
        return ResultView(
            id: id, sharp: try PlanesView(parts[1], field: "result sharp"),
            spikeRecon: parts[2].count == 0 ? nil : try PlanesView(parts[2], field: "result spike_recon"),
            quickSharp: parts[3].count == 0 ? nil : try PlanesView(parts[3], field: "result quick_sharp"))
    }

    /// Checks the 16-byte header part: length, magic, version, kind.
    private static func header(of first: [UInt8]?) throws(WireProtocolError) -> (Kind, UInt64) {
        guard let first, first.count >= 16 else {
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
        return (kind, id)
    }

    /// Decodes and checks a message (every size is checked before it is used).
    public init(parts: [[UInt8]]) throws(WireProtocolError) {
        let (kind, id) = try Self.header(of: parts.first)
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
            self = .job(id: id, blur: blur, spikes: frames, tfi: FloatBytes.decode(parts[3], offset: 0, count: h * w))
        case .result:
            let r = try Self.checkedResult(parts.map { $0 as any WireBytes }, id: id)
            self = .result(
                id: id, sharp: r.sharp.planes, spikeRecon: r.spikeRecon?.planes, quickSharp: r.quickSharp?.planes)
        case .failed:
            try expect(2)
            self = .failed(id: id, reason: String(decoding: parts[1].prefix(1000), as: UTF8.self))
        case .refused:
            try expect(2)
            self = .refused(reason: String(decoding: parts[1].prefix(1000), as: UTF8.self))
        }
    }
}
