/// Errors of image reading and writing; one line naming the file and the problem.
public struct ImagingError: Error, CustomStringConvertible, Sendable {
    /// The file (or a label for in-memory data).
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
