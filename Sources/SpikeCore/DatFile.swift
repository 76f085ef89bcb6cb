#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A memory-mapped, read-only `.dat` spike file.
///
/// Reads any frame range without loading the whole file; the pages are brought in by the
/// kernel on demand.
///
/// - Important: Immutable after `init`, so it may be shared between threads.
public final class DatFile: @unchecked Sendable {
    // @unchecked Sendable: `mapping` is created in init, only read afterwards, and unmapped
    // in deinit when no other reference can exist.

    /// The file path as given.
    public let path: String
    /// The frame size.
    public let geometry: SpikeGeometry
    /// Number of whole frames in the file.
    public let frameCount: Int
    /// Size of the file in bytes.
    public let fileSize: Int
    /// Bytes after the last whole frame that `read` does not expose (only nonzero when
    /// opened with `strict: false`).
    public let droppedTailBytes: Int

    private let mapping: UnsafeRawPointer?

    /// Maps `path` read-only.
    /// - Parameters:
    ///   - path: The `.dat` file.
    ///   - geometry: The frame size (the format has no header).
    ///   - strict: When true (the default) a size that is not a whole number of frames is an
    ///     error; when false the whole frames are exposed and `droppedTailBytes` reports the rest.
    /// - Throws: `SpikeError.fileNotFound`, `.ioFailure`, or `.truncatedFile` (strict mode).
    public init(path: String, geometry: SpikeGeometry, strict: Bool = true) throws(SpikeError) {
        self.path = path
        self.geometry = geometry
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .fileNotFound(path: path) }
            throw .ioFailure(path: path, operation: "open", reason: Self.message(code))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .ioFailure(path: path, operation: "stat", reason: Self.message(errno))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .ioFailure(path: path, operation: "open", reason: "not a regular file")
        }
        let size = Int(info.st_size)
        let bpf = geometry.bytesPerFrame
        let remainder = size % bpf
        if strict && remainder != 0 {
            throw .truncatedFile(
                path: path, size: size, bytesPerFrame: bpf, wholeFrames: size / bpf, remainder: remainder)
        }
        self.fileSize = size
        self.frameCount = size / bpf
        self.droppedTailBytes = remainder
        if size == 0 {
            self.mapping = nil
        } else {
            guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
                throw .ioFailure(path: path, operation: "mmap", reason: Self.message(errno))
            }
            self.mapping = UnsafeRawPointer(base)
        }
    }

    deinit {
        if let mapping {
            munmap(UnsafeMutableRawPointer(mutating: mapping), fileSize)
        }
    }

    /// Copies frames `range` out of the mapping, still packed.
    /// - Throws: `SpikeError.frameRangeOutOfBounds` when `range` is not inside `0..<frameCount`.
    public func read(_ range: Range<Int>) throws(SpikeError) -> PackedSpikeFrames {
        guard range.lowerBound >= 0, range.upperBound <= frameCount else {
            throw .frameRangeOutOfBounds(context: path, range: range, frameCount: frameCount)
        }
        let bpf = geometry.bytesPerFrame
        guard let mapping, !range.isEmpty else { return PackedSpikeFrames(geometry: geometry) }
        let bytes = Array(UnsafeRawBufferPointer(start: mapping + range.lowerBound * bpf, count: range.count * bpf))
        return PackedSpikeFrames(uncheckedGeometry: geometry, bytes: bytes)
    }

    /// Every whole frame.
    public func readAll() throws(SpikeError) -> PackedSpikeFrames {
        try read(0..<frameCount)
    }

    /// The `length` frames centred on `center` (`center - length/2 ..< center - length/2 + length`).
    /// - Throws: `SpikeError.windowOutOfRange` when the window does not fit.
    public func window(center: Int, length: Int) throws(SpikeError) -> PackedSpikeFrames {
        let range = try SpikeWindow.range(center: center, length: length, frameCount: frameCount, context: path)
        return try read(range)
    }

    static func message(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
