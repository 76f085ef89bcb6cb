import SpikeCore

/// Every failure of the dataset readers and the simulator: missing pieces of a layout,
/// malformed names, unreadable images or spike files. `description` is one line naming the
/// path (or field) and the problem.
public enum DatasetError: Error, CustomStringConvertible, Sendable {
    /// A directory the layout requires is absent (`role` says which, e.g. "blur_gamma").
    case missingDirectory(path: String, role: String)
    /// A file the layout requires is absent (`role` says which, e.g. "sharp image").
    case missingFile(path: String, role: String)
    /// A directory with nothing usable in it (`what`: "samples", "images").
    case empty(path: String, what: String)
    /// A name or header that does not follow the layout's convention.
    case malformed(path: String, problem: String)
    /// Reading the spike stream failed.
    case spikes(SpikeError)
    /// Reading or writing an image failed.
    case image(path: String, reason: String)
    /// A parameter has a value the operation cannot use.
    case invalidParameter(name: String, problem: String)

    public var description: String {
        switch self {
        case .missingDirectory(let path, let role):
            return "\(path): missing \(role) directory"
        case .missingFile(let path, let role):
            return "\(path): missing \(role)"
        case .empty(let path, let what):
            return "\(path): no \(what) found"
        case .malformed(let path, let problem):
            return "\(path): \(problem)"
        case .spikes(let error):
            return error.description
        case .image(let path, let reason):
            return "\(path): \(reason)"
        case .invalidParameter(let name, let problem):
            return "\(name): \(problem)"
        }
    }
}
