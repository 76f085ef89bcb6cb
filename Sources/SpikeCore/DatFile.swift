#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `.dat` spike recording open for reading: any frame range is read (with `pread`) without
/// loading the file. A file that another process truncates while it is read gives a
/// ``SpikeError/truncatedFile(path:size:frameBytes:wholeFrames:remainder:)`` for the frames
/// that are gone, never a crash (which a memory map would give: SIGBUS).
///
/// - Important: an instance may be shared between threads for reading (`pread` takes its
///   offset per call; nothing changes after `init`).
public final class DatFile: @unchecked Sendable {
    // Invariant for @unchecked Sendable: every stored property is set once in init and only
    // read afterwards; `fd` is used only with pread, which keeps no shared file offset.
    /// The file path.
    public let path: String
    /// The frame size.
    public let geometry: SpikeGeometry
    /// Whole frames in the file.
    public let frameCount: Int
    /// Bytes after the last whole frame (0 for a sound file; only nonzero in lenient mode).
    public let trailingBytes: Int
    private let fd: Int32
    private let size: Int

    /// Maps a recording.
    /// - Parameters:
    ///   - strict: when true (the default) a size that is not a whole number of frames is an
    ///     error; when false the whole frames are readable and ``trailingBytes`` reports the
    ///     incomplete tail so the caller can say so.
    /// - Throws: ``SpikeError/cannotOpen(path:reason:)`` or ``SpikeError/truncatedFile(path:size:frameBytes:wholeFrames:remainder:)``.
    public init(path: String, geometry: SpikeGeometry, strict: Bool = true) throws(SpikeError) {
        self.path = path
        self.geometry = geometry
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotOpen(path: path, reason: reason)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(st.st_size)
        let frameBytes = geometry.bytesPerFrame
        let remainder = size % frameBytes
        if strict && remainder != 0 {
            close(fd)
            throw .truncatedFile(
                path: path, size: size, frameBytes: frameBytes, wholeFrames: size / frameBytes,
                remainder: remainder)
        }
        self.size = size
        self.frameCount = size / frameBytes
        self.trailingBytes = remainder
        self.fd = fd
    }

    deinit { close(fd) }

    /// Reads frames `range` as packed frames (copies only those bytes).
    /// - Throws: ``SpikeError/rangeOutOfBounds(what:requested:available:)``.
    public func read(_ range: Range<Int>) throws(SpikeError) -> PackedSpikeFrames {
        guard range.lowerBound >= 0, range.upperBound <= frameCount else {
            throw .rangeOutOfBounds(what: path, requested: range, available: frameCount)
        }
        let n = geometry.bytesPerFrame
        guard !range.isEmpty else { return PackedSpikeFrames(geometry: geometry) }
        let count = range.count * n
        var done = 0
        var failure: String?
        // Not zero-filled first: the read fills it, and a short read is an error (a memset of
        // every batch was 5% of a paced replay's CPU).
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            defer { initialized = failure == nil && done == count ? count : 0 }
            while done < count {
                let got = pread(fd, buffer.baseAddress! + done, count - done, off_t(range.lowerBound * n + done))
                if got > 0 {
                    done += got
                } else if got < 0 && errno == EINTR {
                    continue
                } else {
                    if got < 0 { failure = String(cString: strerror(errno)) }
                    break
                }
            }
        }
        if let failure { throw .cannotOpen(path: path, reason: "read: \(failure)") }
        guard done == count else {
            // Shorter than it was when opened: another process truncated it.
            let now = range.lowerBound * n + done
            throw .truncatedFile(path: path, size: now, frameBytes: n, wholeFrames: now / n, remainder: now % n)
        }
        return PackedSpikeFrames(uncheckedGeometry: geometry, bytes: bytes)
    }

    /// Reads every frame.
    public func readAll() throws(SpikeError) -> PackedSpikeFrames { try read(0..<frameCount) }
}

/// Appends packed frames to a `.dat` file.
///
/// - Important: owned by one thread or task at a time.
public final class DatWriter {
    /// The file path.
    public let path: String
    /// The frame size.
    public let geometry: SpikeGeometry
    /// Frames written so far.
    public private(set) var framesWritten = 0
    private var file: UnsafeMutablePointer<FILE>?

    /// Creates (or with `append`, extends) a `.dat` file.
    /// - Throws: ``SpikeError/cannotOpen(path:reason:)``.
    public init(path: String, geometry: SpikeGeometry, append: Bool = false) throws(SpikeError) {
        self.path = path
        self.geometry = geometry
        guard let f = fopen(path, append ? "ab" : "wb") else {
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        file = f
    }

    /// Appends frames.
    /// - Throws: ``SpikeError/writeFailed(path:reason:)`` when the write fails, the writer is
    ///   closed, or the frames have another geometry.
    public func append(_ frames: PackedSpikeFrames) throws(SpikeError) {
        guard frames.geometry == geometry else {
            throw .writeFailed(path: path, reason: "frames are \(frames.geometry), the file holds \(geometry) frames")
        }
        guard let file else { throw .writeFailed(path: path, reason: "writer is closed") }
        let written = frames.bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == frames.bytes.count else {
            throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        framesWritten += frames.count
    }

    /// Flushes and closes the file.
    /// - Throws: ``SpikeError/writeFailed(path:reason:)``.
    public func close() throws(SpikeError) {
        guard let f = file else { return }
        file = nil
        if fclose(f) != 0 { throw .writeFailed(path: path, reason: String(cString: strerror(errno))) }
    }

    deinit { if let file { fclose(file) } }
}
