/// Errors of the spike-stream core. Each description is one line naming the file (or field)
/// and the problem.
public enum SpikeError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Height x width is not positive or not a multiple of 8 (a frame must fill whole bytes).
    case invalidGeometry(height: Int, width: Int)
    /// The file does not exist or cannot be opened.
    case cannotOpen(path: String, reason: String)
    /// The file size is not a whole number of frames.
    case truncatedFile(path: String, size: Int, frameBytes: Int, wholeFrames: Int, remainder: Int)
    /// A byte buffer does not hold whole frames of the geometry.
    case malformedBuffer(field: String, size: Int, frameBytes: Int)
    /// A requested frame range lies outside the stream.
    case rangeOutOfBounds(what: String, requested: Range<Int>, available: Int)
    /// A parameter is out of its valid domain.
    case invalidParameter(name: String, problem: String)
    /// Writing failed.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidGeometry(let h, let w):
            let limit = SpikeGeometry.maximumSide
            guard (1...limit).contains(h), (1...limit).contains(w) else {
                return "spike geometry \(h)x\(w): height and width must be 1...\(limit)"
            }
            return "spike geometry \(h)x\(w): height*width must be a multiple of 8 (got \(h * w))"
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open: \(reason)"
        case .truncatedFile(let path, let size, let fb, let whole, let rem):
            return "\(path): size \(size) bytes is not a whole number of \(fb)-byte frames "
                + "(\(whole) frames + \(rem) bytes remainder); the file is truncated or the geometry is wrong"
        case .malformedBuffer(let field, let size, let fb):
            return "\(field): \(size) bytes is not a whole number of \(fb)-byte frames"
                + " (\(size / max(fb, 1)) frames + \(size % max(fb, 1)) bytes remainder)"
        case .rangeOutOfBounds(let what, let r, let n):
            return "\(what): frames \(r.lowerBound)..<\(r.upperBound) are outside the \(n) available frames"
        case .invalidParameter(let name, let problem):
            return "\(name): \(problem)"
        case .writeFailed(let path, let reason):
            return "\(path): write failed: \(reason)"
        }
    }
}
