/// Why a checkpoint could not be read, converted or written.
///
/// Every case names the file (its path as given) and, where it applies, the tensor or pickle
/// position, so that ``description`` is a complete one-line message.
public enum CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened, read or written.
    case io(file: String, reason: String)
    /// The file is neither a PyTorch zip checkpoint nor a safetensors file.
    case notACheckpoint(file: String, reason: String)
    /// The file ends before a structure it announces.
    case truncated(file: String, what: String)
    /// The zip container is inconsistent.
    case malformedZip(file: String, reason: String)
    /// A zip entry is compressed; `torch.save` stores entries uncompressed.
    case compressedEntry(file: String, entry: String, method: Int)
    /// The pickle names a global outside the state-dict allow list.
    case refusedGlobal(file: String, global: String)
    /// The pickle stream is malformed or uses something a state dict does not need.
    case malformedPickle(file: String, offset: Int, reason: String)
    /// The pickle decoded, but its value is not a state dict (or a known wrapper of one).
    case notAStateDict(file: String, reason: String)
    /// A tensor uses an element type this module does not handle.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// The safetensors JSON header is malformed.
    case badHeader(file: String, reason: String)
    /// A tensor's data offsets lie outside the data section or disagree with its shape.
    case badOffsets(file: String, tensor: String, reason: String)
    /// A tensor's bytes disagree with its dtype and shape, or a conversion is impossible.
    case badTensor(tensor: String, reason: String)

    /// The file (or in-memory source) the error is about; empty for a tensor outside any file.
    public var file: String {
        switch self {
        case .io(let file, _), .notACheckpoint(let file, _), .truncated(let file, _), .malformedZip(let file, _),
            .compressedEntry(let file, _, _), .refusedGlobal(let file, _), .malformedPickle(let file, _, _),
            .notAStateDict(let file, _), .unsupportedDType(let file, _, _), .badHeader(let file, _),
            .badOffsets(let file, _, _):
            file
        case .badTensor:
            ""
        }
    }

    /// The problem, without the leading file name.
    public var problem: String {
        let text = description
        let file = self.file
        if !file.isEmpty, text.hasPrefix(file + ": ") { return String(text.dropFirst(file.count + 2)) }
        return text
    }

    public var description: String {
        switch self {
        case .io(let file, let reason):
            "\(file): \(reason)"
        case .notACheckpoint(let file, let reason):
            "\(file): not a checkpoint: \(reason)"
        case .truncated(let file, let what):
            "\(file): truncated: \(what)"
        case .malformedZip(let file, let reason):
            "\(file): malformed zip: \(reason)"
        case .compressedEntry(let file, let entry, let method):
            "\(file): zip entry '\(entry)' is compressed (method \(method)); only stored "
                + "(uncompressed) entries as written by torch.save are supported"
        case .refusedGlobal(let file, let global):
            "\(file): refusing pickle global '\(global)': only state_dict tensors are allowed"
        case .malformedPickle(let file, let offset, let reason):
            "\(file): pickle at byte \(offset): \(reason)"
        case .notAStateDict(let file, let reason):
            "\(file): not a state_dict: \(reason)"
        case .unsupportedDType(let file, let tensor, let dtype):
            "\(file): tensor '\(tensor)': unsupported dtype '\(dtype)'"
        case .badHeader(let file, let reason):
            "\(file): bad safetensors header: \(reason)"
        case .badOffsets(let file, let tensor, let reason):
            "\(file): tensor '\(tensor)': \(reason)"
        case .badTensor(let tensor, let reason):
            tensor.isEmpty ? "tensor: \(reason)" : "tensor '\(tensor)': \(reason)"
        }
    }
}
