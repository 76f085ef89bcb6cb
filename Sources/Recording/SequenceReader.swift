import Foundation
import HDF5
import Imaging

/// Reads a recording written by ``SequenceWriter`` (for `inspect`, `export` and tests).
///
/// Image chunks are read as stored and decompressed here (deflate, bitshuffle + LZ4), so no
/// HDF5 filter plugin is needed.
/// - Important: Use from one thread or task at a time; call ``close()`` when done.
public final class SequenceReader {
    /// The file read.
    public let path: String
    private let file: File

    /// Description of one dataset.
    public struct DatasetInfo: Sendable {
        /// Name without the leading `/`.
        public var name: String
        /// Current dimensions.
        public var shape: [Int]
        /// Element type (`uint8`, `float16`, ...), or `other`.
        public var elementType: String
        /// Chunk dimensions, or nil for contiguous storage.
        public var chunk: [Int]?
        /// Filter names in pipeline order (e.g. `deflate`, `bitshuffle`).
        public var filters: [String]
        /// Bytes stored in the file.
        public var storedBytes: Int
    }

    /// What `spkdeblur inspect` prints.
    public struct Info: Sendable {
        /// Frames (length of `/frame_id`, else of `/sharp`).
        public var frames: Int
        /// Image height and width.
        public var height: Int
        /// See ``height``.
        public var width: Int
        /// Every dataset at the root, in name order.
        public var datasets: [DatasetInfo]
        /// Exposure start of the first frame and end of the last one, in ns.
        public var timeSpanNanoseconds: ClosedRange<Int64>?
        /// Root attributes rendered as text, in name order.
        public var attributes: [(name: String, value: String)]
    }

    /// Opens the recording at `url` read-only (as an SWMR reader when `swmr`).
    ///
    /// - Throws: ``RecordingError`` naming the file and HDF5's reason.
    public init(url: URL, swmr: Bool = false) throws {
        path = url.path
        do {
            file = try File.open(path: path, mode: .readOnly, swmr: swmr)
        } catch {
            throw RecordingError(file: path, stage: "open", message: error.description)
        }
        guard (try? file.root.contains(ImageDataset.sharp.rawValue)) == true else {
            try? file.close()
            throw RecordingError(file: path, stage: "open", message: "no /sharp dataset: not a recording")
        }
    }

    /// Closes the file.
    public func close() { try? file.close() }

    deinit { close() }

    private func wrap<T>(_ stage: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as HDF5Error {
            throw RecordingError(file: path, stage: stage, message: error.description)
        }
    }

    /// Summarises datasets, sizes and attributes.
    public func info() throws -> Info {
        try wrap("inspect") {
            let root = file.root
            var datasets: [DatasetInfo] = []
            for name in try root.memberNames() {
                guard let ds = try? root.openDataset(name) else { continue }
                datasets.append(
                    DatasetInfo(
                        name: name, shape: try ds.shape(), elementType: try ds.elementType()?.rawValue ?? "other",
                        chunk: try ds.chunkShape(), filters: try ds.filters().map { Self.filterName($0.id, $0.name) },
                        storedBytes: ds.storageSize()))
            }
            let sharpShape = datasets.first { $0.name == "sharp" }?.shape ?? [0, 0, 0, 3]
            let frames = datasets.first { $0.name == "frame_id" }?.shape.first ?? sharpShape[0]
            var span: ClosedRange<Int64>?
            if frames > 0, try root.contains("exposure_start_ns"), try root.contains("exposure_end_ns") {
                let starts = try root.openDataset("exposure_start_ns").readInt64()
                let ends = try root.openDataset("exposure_end_ns").readInt64()
                if let first = starts.first, let last = ends.last, first <= last { span = first...last }
            }
            var attributes: [(String, String)] = []
            for name in try root.attributeNames() {
                attributes.append((name, Self.render(try root.attribute(name))))
            }
            return Info(
                frames: frames, height: sharpShape.count > 1 ? sharpShape[1] : 0,
                width: sharpShape.count > 2 ? sharpShape[2] : 0, datasets: datasets, timeSpanNanoseconds: span,
                attributes: attributes)
        }
    }

    /// The per-frame arrays of the schema that the file has, in schema order: each as
    /// integers (`exposure_start_ns`, `frame_id`, ...) or floats (`latency_ms`).
    public func perFrameArrays() throws -> [(name: String, values: PerFrameValues)] {
        try wrap("read per-frame arrays") {
            let root = file.root
            var out: [(String, PerFrameValues)] = []
            for name in ["frame_id", "exposure_start_ns", "exposure_end_ns", "spike_center_index", "latency_ms"] {
                guard try root.contains(name) else { continue }
                let ds = try root.openDataset(name)
                if try ds.elementType() == .float32 || ds.elementType() == .float64 {
                    out.append((name, .float(try ds.readFloat())))
                } else {
                    out.append((name, .int64(try ds.readInt64())))
                }
            }
            return out
        }
    }

    static func filterName(_ id: Int, _ name: String) -> String {
        switch id {
        case 1: "deflate"
        case Filter.bitshuffleID: "bitshuffle-lz4"
        default: name.isEmpty ? "filter \(id)" : name
        }
    }

    static func render(_ value: AttributeValue) -> String {
        switch value {
        case .int64(let v): "\(v)"
        case .double(let v): "\(v)"
        case .string(let s), .fixedString(let s): s
        case .int64Array(let v): "\(v)"
        case .doubleArray(let v): "\(v)"
        }
    }

    /// Frame `index` of an image dataset as an ``Imaging/Image`` (3 channels, 1 for
    /// `/spike_recon`).
    public func image(_ index: Int, of dataset: ImageDataset = .sharp) throws -> Image {
        let info = try wrap("read /\(dataset.rawValue)") { () throws -> [Int] in
            try file.root.openDataset(dataset.rawValue).shape()
        }
        let pixels = try frame(index, of: dataset)
        return Image(
            width: info.count > 2 ? info[2] : 0, height: info.count > 1 ? info[1] : 0,
            channels: dataset.channels, pixels: pixels)
    }

    /// Frame `index` of an image dataset as floats in [0, 1], HWC (HW for `/spike_recon`).
    ///
    /// - Throws: ``RecordingError`` for a missing dataset, an index out of range, or a chunk
    ///   that cannot be decoded.
    public func frame(_ index: Int, of dataset: ImageDataset = .sharp) throws -> [Float] {
        try wrap("read /\(dataset.rawValue) frame \(index)") {
            let ds = try file.root.openDataset(dataset.rawValue)
            let shape = try ds.shape()
            guard index >= 0, index < shape[0] else {
                throw RecordingError(
                    file: path, stage: "read /\(dataset.rawValue)",
                    message: "frame \(index) is out of range 0..<\(shape[0])")
            }
            guard let type = try ds.elementType(), [.uint8, .float16, .float32].contains(type) else {
                throw RecordingError(
                    file: path, stage: "read /\(dataset.rawValue)", message: "unsupported element type")
            }
            let frameElements = shape.dropFirst().reduce(1, *)
            let rawCount = frameElements * type.size
            let filters = try ds.filters().map(\.id)
            let compression: Compression? =
                switch filters {
                case []: Compression.none
                case [1]: .deflate(level: 1)
                case [Filter.bitshuffleID]: .bitshuffleLZ4
                default: nil
                }
            var raw: [UInt8]
            if let compression, try ds.chunkShape() == [1] + shape.dropFirst() {
                let (mask, stored) = try ds.readChunk(offset: [index] + Array(repeating: 0, count: shape.count - 1))
                let effective = mask & 1 == 1 ? Compression.none : compression
                guard
                    let decoded = ChunkCodec.decode(
                        stored, rawCount: rawCount, elementSize: type.size, compression: effective)
                else {
                    throw RecordingError(
                        file: path, stage: "read /\(dataset.rawValue)", message: "frame \(index): chunk does not decode"
                    )
                }
                raw = decoded
            } else {
                raw = try ds.readBytes(
                    start: [index] + Array(repeating: 0, count: shape.count - 1), count: [1] + shape.dropFirst())
            }
            switch type {
            case .uint8: return raw.map { Float($0) / 255 }
            case .float16: return raw.withUnsafeBytes { Array($0.bindMemory(to: Float16.self)).map { Float($0) } }
            default: return raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            }
        }
    }
}

/// The values of one per-frame array.
public enum PerFrameValues: Sendable, Equatable {
    case int64([Int64])
    case float([Float])

    /// Number of frames.
    public var count: Int {
        switch self {
        case .int64(let v): v.count
        case .float(let v): v.count
        }
    }
}
