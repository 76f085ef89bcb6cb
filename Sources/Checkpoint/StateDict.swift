import Foundation

/// Named tensors of a model checkpoint, as `torch.save(model.state_dict())` or a
/// safetensors file holds them.
public struct StateDict: Sendable {
    /// The tensors by name.
    public var tensors: [String: StoredTensor]
    /// Free-form string metadata (safetensors `__metadata__`).
    public var metadata: [String: String]

    /// Creates a state dict.
    public init(tensors: [String: StoredTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads a checkpoint, choosing the format from the file's first bytes: a zip archive is
    /// a PyTorch `.pth`, anything else is read as safetensors. `module.` prefixes (from
    /// `DataParallel`) are stripped.
    /// - Throws: ``CheckpointError`` naming the file and the problem.
    public static func load(contentsOf url: URL) throws(CheckpointError) -> StateDict {
        let bytes = try readFile(url)
        let dict: StateDict
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            dict = try TorchCheckpoint.read(bytes: bytes, name: url.lastPathComponent)
        } else {
            dict = try SafeTensors.read(bytes: bytes, name: url.lastPathComponent)
        }
        return dict.strippingPrefix("module.")
    }

    /// The same tensors with `prefix` removed from every name that starts with it.
    public func strippingPrefix(_ prefix: String) -> StateDict {
        var out = StateDict(metadata: metadata)
        for (k, v) in tensors {
            out.tensors[k.hasPrefix(prefix) ? String(k.dropFirst(prefix.count)) : k] = v
        }
        return out
    }

    /// Total number of elements over all tensors.
    public var elementCount: Int { tensors.values.reduce(0) { $0 + $1.elementCount } }

    static func readFile(_ url: URL) throws(CheckpointError) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw CheckpointError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
    }
}
