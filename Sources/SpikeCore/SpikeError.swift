/// Every failure of the spike core: bad geometry, unreadable or malformed `.dat` files,
/// frame ranges and windows that do not fit the stream.
///
/// The `description` is one line that names the file (or field) and the problem.
public enum SpikeError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The frame size is unusable: non-positive, or H*W not a multiple of 8 (frames are
    /// bit-packed into whole bytes).
    case invalidGeometry(height: Int, width: Int, problem: String)
    /// The file does not exist.
    case fileNotFound(path: String)
    /// A system call on the file failed (`operation` is e.g. "open", "mmap", "write").
    case ioFailure(path: String, operation: String, reason: String)
    /// The file size is not a whole number of frames.
    case truncatedFile(path: String, size: Int, bytesPerFrame: Int, wholeFrames: Int, remainder: Int)
    /// An in-memory byte buffer is not a whole number of frames.
    case byteCountMismatch(context: String, byteCount: Int, bytesPerFrame: Int)
    /// A requested frame range does not lie inside the stream.
    case frameRangeOutOfBounds(context: String, range: Range<Int>, frameCount: Int)
    /// A centred window of `length` frames around `center` does not fit in `frameCount` frames.
    case windowOutOfRange(context: String, center: Int, length: Int, frameCount: Int)
    /// Two pieces of spike data that must agree on the frame size do not.
    case geometryMismatch(context: String, expected: SpikeGeometry, actual: SpikeGeometry)
    /// A parameter has a value the operation cannot use.
    case invalidArgument(field: String, problem: String)
    /// The writer was used after `close()`.
    case writerClosed(path: String)

    public var description: String {
        switch self {
        case .invalidGeometry(let height, let width, let problem):
            return "spike geometry \(height)x\(width): \(problem)"
        case .fileNotFound(let path):
            return "\(path): no such file"
        case .ioFailure(let path, let operation, let reason):
            return "\(path): \(operation) failed: \(reason)"
        case .truncatedFile(let path, let size, let bytesPerFrame, let wholeFrames, let remainder):
            return "\(path): size \(size) bytes is not a whole number of \(bytesPerFrame)-byte frames"
                + " (\(wholeFrames) frames + \(remainder) byte\(remainder == 1 ? "" : "s") remainder)"
        case .byteCountMismatch(let context, let byteCount, let bytesPerFrame):
            return "\(context): \(byteCount) bytes is not a whole number of \(bytesPerFrame)-byte frames"
                + " (\(byteCount / max(bytesPerFrame, 1)) frames + \(byteCount % max(bytesPerFrame, 1)) bytes remainder)"
        case .frameRangeOutOfBounds(let context, let range, let frameCount):
            return "\(context): frames \(range.lowerBound)..<\(range.upperBound) are outside the \(frameCount) frames available"
        case .windowOutOfRange(let context, let center, let length, let frameCount):
            let lower = center - length / 2
            return "\(context): a \(length)-frame window centred on frame \(center) needs frames"
                + " \(lower)..<\(lower + length) but only 0..<\(frameCount) exist"
        case .geometryMismatch(let context, let expected, let actual):
            return "\(context): spike geometry \(actual.height)x\(actual.width) does not match"
                + " \(expected.height)x\(expected.width)"
        case .invalidArgument(let field, let problem):
            return "\(field): \(problem)"
        case .writerClosed(let path):
            return "\(path): writer used after close()"
        }
    }
}
