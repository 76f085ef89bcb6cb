/// A problem found in a description file, located at a line and column.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    /// The file.
    public var file: String
    /// 1-based line (0 when unknown).
    public var line: Int
    /// 1-based column (0 when unknown).
    public var column: Int
    /// The stage concerned, if any.
    public var stage: String?
    /// The problem.
    public var message: String

    public var description: String {
        let place = line > 0 ? "\(file):\(line):\(column)" : file
        return stage.map { "\(place): stage '\($0)': \(message)" } ?? "\(place): \(message)"
    }
}

/// Errors of the pipeline runtime.
public enum PipelineError: Error, CustomStringConvertible {
    /// The description file has problems (every one found is listed).
    case invalid([Diagnostic])
    /// A stage failed while running.
    case stageFailed(stage: String, underlying: any Error)
    /// An item of the wrong type arrived (a broken graph).
    case typeMismatch(stage: String, port: String, expected: String, got: String)

    public var description: String {
        switch self {
        case .invalid(let d):
            return d.map(\.description).joined(separator: "\n")
        case .stageFailed(let stage, let underlying):
            return "stage '\(stage)' failed: \(underlying)"
        case .typeMismatch(let stage, let port, let expected, let got):
            return "stage '\(stage)': input '\(port)' expected \(expected), got \(got)"
        }
    }
}
