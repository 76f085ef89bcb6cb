import Foundation
import HDF5

/// The file side of a ``SequenceWriter``: every HDF5 object of the recording.
final class WriterCore: @unchecked Sendable {
    // Invariant: created, used and closed only on the writer's owner thread (every call comes
    // through `OwnerThread.sync` or `OwnerThread.submit`), so no two threads touch it.
    private let path: String
    /// Where the file is written: a temporary name in the same folder, renamed over `path`
    /// on close; in SWMR mode as soon as its layout is complete (live readers open it by name,
    /// and an SWMR file is valid after every flush), so a failure while creating it leaves
    /// what was at `path` untouched.
    private let writePath: String
    /// Whether `writePath` has been renamed to `path`.
    private var placed = false
    private let options: SequenceWriter.Options
    private let file: File
    private var images: [(ImageDataset, Dataset)] = []
    private let perFrame: [String: Dataset]
    private var pending: [Int: EncodedFrame] = [:]
    private var nextIndex = 0
    private(set) var written = 0
    /// Frames known to be on disk: written before the last successful flush. After a write
    /// error the file is cut back to these, since HDF5 may still have held later ones in
    /// its buffers.
    private var durable = 0
    private var failed = false
    /// Room for the close after the disk fills (released before closing a failed file).
    private let reserve: SpaceReserve

    static let perFrameNames = [
        "exposure_start_ns", "exposure_end_ns", "spike_center_index", "frame_id", "latency_ms",
    ]
    static let perFrameChunk = 1024

    init(path: String, options: SequenceWriter.Options) throws {
        self.path = path
        self.options = options
        let target = URL(fileURLWithPath: path)
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).partial-\(UUID().uuidString)").path
        writePath = temporary
        reserve = SpaceReserve(besideFile: path)
        let file: File
        do {
            file = try File.create(path: temporary, latestFormat: true)
        } catch {
            throw RecordingError(
                file: path, stage: "create file", message: Self.describe(error, temporary, path))
        }
        let layout: (images: [(ImageDataset, Dataset)], perFrame: [String: Dataset])
        do {
            layout = try Self.createLayout(in: file, options: options)
        } catch {
            try? file.close()
            unlink(temporary)
            throw RecordingError(
                file: path, stage: "create datasets", message: Self.describe(error, temporary, path))
        }
        if options.swmr {
            guard replace(path, with: temporary) == 0 else {
                let reason = String(cString: strerror(errno))
                try? file.close()
                unlink(temporary)
                throw RecordingError(file: path, stage: "rename into place", message: reason)
            }
            placed = true
        }
        self.file = file
        self.images = layout.images
        self.perFrame = layout.perFrame
    }

    private static func createLayout(
        in file: File, options: SequenceWriter.Options
    ) throws(HDF5Error) -> (images: [(ImageDataset, Dataset)], perFrame: [String: Dataset]) {
        let root = file.root
        var perFrame: [String: Dataset] = [:]
        var images: [(ImageDataset, Dataset)] = []
        for name in perFrameNames {
            let type: ElementType = name == "latency_ms" ? .float32 : .int64
            perFrame[name] = try root.createDataset(
                name, type: type, shape: [0], maxShape: [nil], chunk: [perFrameChunk])
        }
        let elementType: ElementType =
            switch options.pixelType {
            case .uint8: .uint8
            case .float16: .float16
            case .float32: .float32
            }
        for dataset in options.imageDatasets {
            let channels = dataset.channels
            let frameShape =
                channels == 1 ? [options.height, options.width] : [options.height, options.width, channels]
            let filters: [Filter] =
                switch options.compression(for: dataset) {
                case .none: []
                case .deflate(let level): [.deflate(level: level)]
                case .bitshuffleLZ4: [.bitshuffleLZ4]
                }
            let ds = try root.createDataset(
                dataset.rawValue, type: elementType, shape: [0] + frameShape,
                maxShape: [nil] + frameShape.map { Optional($0) }, chunk: [1] + frameShape, filters: filters)
            try ds.setAttribute("layout", .string(channels == 1 ? "NHW" : "NHWC"))
            try ds.setAttribute(
                "value_range", .string(options.pixelType == .uint8 ? "0..255 for [0, 1]" : "[0, 1]"))
            try ds.setAttribute("compression", .string(options.compression(for: dataset).description))
            images.append((dataset, ds))
        }
        for name in perFrameNames {
            guard let scale = perFrame[name] else { continue }
            try scale.makeScale(name: name)
            for (_, image) in images { try image.attachScale(scale, dimension: 0) }
        }
        try perFrame["exposure_start_ns"]?.setAttribute("units", .string("ns"))
        try perFrame["exposure_end_ns"]?.setAttribute("units", .string("ns"))
        try perFrame["latency_ms"]?.setAttribute("units", .string("ms"))
        try writeRootAttributes(file.root, options: options)
        if options.swmr { try file.startSWMRWrite() }
        return (images, perFrame)
    }

    private static func writeRootAttributes(_ root: Group, options: SequenceWriter.Options) throws(HDF5Error) {
        let m = options.metadata
        try root.setAttribute("software_version", .string(m.softwareVersion))
        try root.setAttribute("model_name", .string(m.modelName))
        try root.setAttribute("weights_sha256", .string(m.weightsSHA256))
        try root.setAttribute("model_config", .string(m.modelConfigJSON))
        try root.setAttribute("pipeline", .string(m.pipelineText))
        try root.setAttribute("sensor_size", .int64Array([Int64(m.sensorHeight), Int64(m.sensorWidth)]))
        try root.setAttribute("spike_rate_hz", .double(m.spikeRateHz))
        try root.setAttribute("image_size", .int64Array([Int64(options.height), Int64(options.width)]))
        try root.setAttribute("pixel_type", .string(options.pixelType.rawValue))
        try root.setAttribute("created", .string(utcTimestamp()))
        for (key, value) in m.extra.sorted(by: { $0.key < $1.key }) {
            try root.setAttribute(key, .string(value))
        }
    }

    /// An error's one-line text, naming `path` where HDF5 named the temporary file.
    private static func describe(_ error: any Error, _ temporary: String, _ path: String) -> String {
        (error as? HDF5Error)?.naming(temporary, as: path).description ?? "\(error)"
    }

    /// Takes frame `index` and writes every frame now ready, in order.
    func accept(index: Int, _ frame: EncodedFrame, flow: FlowControl) {
        pending[index] = frame
        while let next = pending.removeValue(forKey: nextIndex) {
            if !failed {
                do {
                    try write(next)
                    written += 1
                    if written % options.flushEvery == 0 {
                        try file.flush()
                        durable = written
                    }
                } catch let error as RecordingError {
                    failed = true
                    flow.fail(
                        RecordingError(
                            file: path, stage: error.stage, message: error.message, framesWritten: durable))
                } catch {
                    failed = true
                    flow.fail(
                        RecordingError(
                            file: path, stage: "write frame \(nextIndex)", message: "\(error)", framesWritten: durable))
                }
            }
            nextIndex += 1
            flow.release()
        }
    }

    private func write(_ frame: EncodedFrame) throws {
        let n = written
        for (dataset, chunk) in frame.chunks {
            guard chunk != nil else {
                throw RecordingError(
                    file: path, stage: "write frame \(n)", message: "compressing /\(dataset.rawValue) failed",
                    framesWritten: n)
            }
        }
        do {
            // Grow everything first so that a failure leaves rows to trim, never missing rows.
            for (_, ds) in images { try ds.extend(to: [n + 1] + (try ds.shape()).dropFirst()) }
            for ds in perFrame.values { try ds.extend(to: [n + 1]) }
            for ((dataset, chunk), (_, ds)) in zip(frame.chunks, images) {
                guard let chunk else { continue }
                let offset = [n] + Array(repeating: 0, count: dataset.channels == 1 ? 2 : 3)
                try ds.writeChunk(chunk, offset: offset)
            }
            try perFrame["exposure_start_ns"]?.write([frame.exposureStart], start: [n], count: [1])
            try perFrame["exposure_end_ns"]?.write([frame.exposureEnd], start: [n], count: [1])
            try perFrame["spike_center_index"]?.write([frame.spikeCenterIndex], start: [n], count: [1])
            try perFrame["frame_id"]?.write([frame.frameID], start: [n], count: [1])
            try perFrame["latency_ms"]?.write([frame.latencyMilliseconds], start: [n], count: [1])
        } catch {
            throw RecordingError(
                file: path, stage: "write frame \(n)", message: Self.describe(error, writePath, path))
        }
    }

    /// Trims rows of a frame that failed, closes the file, and reports.
    func close() throws -> SequenceWriter.Summary {
        // The disk may be full: give back the space held for this close.
        reserve.release()
        var stored: [ImageDataset: Int] = [:]
        var raw: [ImageDataset: Int] = [:]
        do {
            if failed {
                // Cut the datasets back to the frames known to be on disk (best effort: the
                // same disk error may strike again).
                written = durable
                // HDF5 1.10 cannot always prune the row of a chunk whose write failed; the
                // image datasets may then keep that one unfilled row (docs/hdf5.md).
                for (_, ds) in images { try? ds.extend(to: [durable] + (try ds.shape()).dropFirst()) }
                for ds in perFrame.values { try? ds.extend(to: [durable]) }
            }
            for (dataset, ds) in images {
                stored[dataset] = ds.storageSize()
                raw[dataset] = written * options.height * options.width * dataset.channels * options.pixelType.size
            }
            // Closed here, not when the last reference goes: HDF5 keeps the file (and its lock)
            // open while any dataset of it is, and a reader opening the file right after
            // `finish` found it still locked.
            for (_, ds) in images { try ds.close() }
            images.removeAll()
            for ds in perFrame.values { try ds.close() }
            try file.close()
        } catch {
            if !placed { unlink(writePath) }
            throw RecordingError(
                file: path, stage: "close", message: Self.describe(error, writePath, path),
                framesWritten: written)
        }
        // Closed valid (with every frame that reached the disk, also after a write error):
        // only now does it replace what was at `path`.
        if !placed, replace(path, with: writePath) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(writePath)
            throw RecordingError(
                file: path, stage: "rename into place", message: reason, framesWritten: written)
        }
        return SequenceWriter.Summary(path: path, frames: written, storedBytes: stored, rawBytes: raw)
    }
}

/// `rename(source, target)`, with the file it replaces freed off the caller's thread: its
/// blocks are given back when its last descriptor closes, which for a recording of some
/// hundred MB took 50-60 ms inside `rename` (ext4), stalling the first frame of a run that
/// overwrites the previous one's file. The old file is opened first and closed on a
/// background queue after the rename; a crash in between leaves no stray name (the kernel
/// closes the descriptor). Returns `rename`'s result.
func replace(_ target: String, with source: String) -> Int32 {
    let old = open(target, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    let result = rename(source, target)
    if old >= 0 {
        if result == 0 {
            DispatchQueue.global(qos: .utility).async { close(old) }
        } else {
            close(old)
        }
    }
    return result
}

/// Now in UTC as RFC 3339 with milliseconds (`2026-12-03T18:26:48.144Z`), the form
/// `ISO8601DateFormatter` writes with fractional seconds, without its time-zone database
/// lookups (about 10 ms on a run's first file).
func utcTimestamp() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var parts = tm()
    var seconds = now.tv_sec
    gmtime_r(&seconds, &parts)
    func pad(_ v: Int32, _ width: Int) -> String {
        let digits = String(v)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    let millis = Int32(now.tv_nsec / 1_000_000)
    return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
        + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
}
