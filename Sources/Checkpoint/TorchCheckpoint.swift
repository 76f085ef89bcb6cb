import Foundation

/// Reads PyTorch checkpoints written by `torch.save` (the zip format, PyTorch 1.6 and later).
public enum TorchCheckpoint {
    /// Reads a `torch.save` zip archive holding a state dict.
    public static func read(contentsOf url: URL) throws(CheckpointError) -> StateDict {
        try read(bytes: try FileBytes.read(url), file: url.path)
    }

    /// Parses `torch.save` archive bytes; `file` names the source in errors.
    public static func read(bytes: [UInt8], file: String) throws(CheckpointError) -> StateDict {
        throw .notACheckpoint(file: file, reason: "PyTorch zip checkpoints are not supported yet")
    }
}
