#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Streams packed spike frames to a `.dat` file, byte-exact with the reference writer.
///
/// - Important: Not thread-safe; one owner appends and closes. `deinit` closes a writer
///   that was not closed explicitly (and drops any error).
public final class DatWriter {
    /// The file path as given.
    public let path: String
    /// The frame size every appended block must have.
    public let geometry: SpikeGeometry
    /// Frames written so far by this writer.
    public private(set) var framesWritten = 0

    private var fd: Int32

    /// Creates (or truncates) `path`, or appends to it when `append` is true.
    /// - Throws: `SpikeError.ioFailure` when the file cannot be opened.
    public init(path: String, geometry: SpikeGeometry, append: Bool = false) throws(SpikeError) {
        self.path = path
        self.geometry = geometry
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else {
            throw .ioFailure(path: path, operation: "open for writing", reason: DatFile.message(errno))
        }
        self.fd = fd
    }

    deinit {
        if fd >= 0 { _ = closeDescriptor(fd) }
    }

    /// Appends `frames`.
    /// - Throws: `.geometryMismatch`, `.writerClosed`, or `.ioFailure` when the write fails.
    public func append(_ frames: PackedSpikeFrames) throws(SpikeError) {
        guard fd >= 0 else { throw .writerClosed(path: path) }
        guard frames.geometry == geometry else {
            throw .geometryMismatch(context: path, expected: geometry, actual: frames.geometry)
        }
        let failure: SpikeError? = frames.bytes.withUnsafeBytes { raw -> SpikeError? in
            var offset = 0
            while offset < raw.count {
                guard let base = raw.baseAddress else { return nil }
                let n = write(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return .ioFailure(path: path, operation: "write", reason: DatFile.message(errno))
                }
                offset += n
            }
            return nil
        }
        if let failure { throw failure }
        framesWritten += frames.count
    }

    /// Encodes and appends a decoded volume.
    public func append(_ volume: SpikeVolume) throws(SpikeError) {
        try append(volume.packed())
    }

    /// Closes the file; later appends throw `.writerClosed`.
    /// - Throws: `SpikeError.ioFailure` when the close reports an error.
    public func close() throws(SpikeError) {
        guard fd >= 0 else { return }
        let result = closeDescriptor(fd)
        fd = -1
        if result != 0 {
            throw .ioFailure(path: path, operation: "close", reason: DatFile.message(errno))
        }
    }
}

/// The C `close`, reachable from inside `DatWriter`, whose own `close()` shadows it.
private func closeDescriptor(_ fd: Int32) -> Int32 {
    close(fd)
}
