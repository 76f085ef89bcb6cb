/// Errors of checkpoint reading and writing; each description is one line naming the file
/// and the problem.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    /// The file involved (or a field name for in-memory data).
    public var file: String
    /// What is wrong.
    public var problem: String

    /// Creates an error.
    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
