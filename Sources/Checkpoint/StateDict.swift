import Foundation

/// A model's named tensors plus string metadata, as loaded from a checkpoint file.
///
/// Names are the PyTorch parameter and buffer names (`"D_conv_down.0.weight"`). Metadata
/// holds the safetensors `__metadata__` entries; a PyTorch checkpoint that wrapped its state
/// dict (`{"state_dict": ...}`) records the key used under ``wrapperKeyMetadata``.
public struct StateDict: Sendable, Equatable {
    /// The tensors by name.
    public var tensors: [String: StoredTensor]
    /// Free-form string metadata.
    public var metadata: [String: String]

    /// The metadata key under which a PyTorch reader records the wrapper key it unwrapped.
    public static let wrapperKeyMetadata = "wrapper_key"

    /// Creates a state dict from tensors and metadata.
    public init(tensors: [String: StoredTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Loads a checkpoint, choosing the format from the file's first bytes.
    ///
    /// A file starting with a zip signature (`PK\u{3}\u{4}`) is read as a PyTorch
    /// `torch.save` archive (``TorchCheckpoint``); anything else as safetensors
    /// (``SafeTensors``). Names are kept as stored: use ``strippingPrefix(_:)`` to drop a
    /// `"module."` prefix. Errors name the file by its last path component.
    /// - Throws: ``CheckpointError`` naming the file and the problem.
    public static func load(contentsOf url: URL) throws(CheckpointError) -> StateDict {
        let bytes = try FileBytes.read(url)
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 0x03, bytes[3] == 0x04 {
            return try TorchCheckpoint.read(bytes: bytes, file: url.lastPathComponent)
        }
        if bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) {
            // A bare pickle: the legacy (pre-1.6) torch.save format or a plain pickle file.
            throw .notACheckpoint(
                file: url.lastPathComponent,
                reason: "a bare pickle (legacy torch.save format); re-save it with "
                    + "torch.save(state_dict, path) from PyTorch 1.6 or later")
        }
        return try SafeTensors.read(bytes: bytes, file: url.lastPathComponent)
    }

    /// Tensor names in lexicographic order.
    public var names: [String] { tensors.keys.sorted() }

    /// The total number of elements over all tensors.
    public var elementCount: Int { tensors.values.reduce(0) { $0 + $1.elementCount } }

    /// A copy with `prefix` removed from every name that starts with it (such as the
    /// `"module."` that `nn.DataParallel` adds).
    ///
    /// Names without the prefix are kept unchanged; if a stripped name collides with one of
    /// them, the unprefixed original is kept.
    public func strippingPrefix(_ prefix: String) -> StateDict {
        var out = StateDict(tensors: [:], metadata: metadata)
        for (name, tensor) in tensors where !name.hasPrefix(prefix) {
            out.tensors[name] = tensor
        }
        for (name, tensor) in tensors where name.hasPrefix(prefix) {
            let stripped = String(name.dropFirst(prefix.count))
            if out.tensors[stripped] == nil { out.tensors[stripped] = tensor }
        }
        return out
    }

    /// The named tensor as `Float`s.
    /// - Throws: ``CheckpointError/badTensor(tensor:reason:)`` if the tensor is missing or
    ///   its bytes do not match its shape.
    public func floats(_ name: String) throws(CheckpointError) -> [Float] {
        guard let tensor = tensors[name] else { throw .badTensor(tensor: name, reason: "not in the state dict") }
        do { return try tensor.floats() } catch { throw error.naming(name) }
    }

    /// The lowercase hex SHA-256 digest of a file's bytes (for provenance records); the
    /// file is read in 1 MiB chunks.
    /// - Throws: ``CheckpointError/io(file:reason:)`` if the file cannot be read.
    public static func sha256(of url: URL) throws(CheckpointError) -> String {
        try SHA256.hex(ofFile: url)
    }
}

extension SHA256 {
    /// The digest of `bytes`.
    public static func digest(of bytes: [UInt8]) -> [UInt8] { hash(bytes) }

    /// The digest of `bytes` as lowercase hex.
    public static func hex(of bytes: [UInt8]) -> String { hexString(hash(bytes)) }

    /// The digest of a file's contents as lowercase hex, read in 1 MiB chunks.
    /// - Throws: ``CheckpointError/io(file:reason:)`` if the file cannot be read.
    public static func hex(ofFile url: URL) throws(CheckpointError) -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw .io(file: url.path, reason: "cannot open for reading")
        }
        defer { try? handle.close() }
        var hasher = Self()
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 1 << 20) } catch {
                throw .io(file: url.path, reason: "read failed: \(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(chunk)
        }
        return hexString(hasher.finalize())
    }

    static func hexString(_ digest: [UInt8]) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}

extension CheckpointError {
    /// Fills in the tensor name of a ``badTensor(tensor:reason:)`` raised without one.
    func naming(_ name: String) -> CheckpointError {
        if case .badTensor(let tensor, let reason) = self, tensor.isEmpty {
            return .badTensor(tensor: name, reason: reason)
        }
        return self
    }
}

/// Whole-file reads with errors in this module's terms.
enum FileBytes {
    static func read(_ url: URL) throws(CheckpointError) -> [UInt8] {
        do {
            let data = try Data(contentsOf: url, options: .mappedIfSafe)
            return [UInt8](data)
        } catch {
            if !FileManager.default.fileExists(atPath: url.path) {
                throw .io(file: url.path, reason: "no such file")
            }
            throw .io(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
    }
}
