/// A failure of the recording sink: bad input, or an HDF5 / file-system error while writing.
public struct RecordingError: Error, CustomStringConvertible, Sendable {
    /// The file the writer writes or the reader reads.
    public let file: String
    /// What the sink was doing, e.g. `"append frame 12"` or `"create file"`.
    public let stage: String
    /// The problem, including HDF5's message where there is one.
    public let message: String
    /// Frames completely written to the file when the error happened.
    public let framesWritten: Int

    /// Creates an error.
    public init(file: String, stage: String, message: String, framesWritten: Int = 0) {
        self.file = file
        self.stage = stage
        self.message = message
        self.framesWritten = framesWritten
    }

    public var description: String {
        "recording \(file): \(stage): \(message)"
    }
}
