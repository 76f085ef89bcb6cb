import Foundation

/// Reads PyTorch checkpoints written by `torch.save` (the zip format, PyTorch 1.6 and later).
///
/// The archive holds `<root>/data.pkl` (the pickled object), `<root>/data/<key>` (one raw
/// entry per storage), `<root>/byteorder` and `<root>/version`. The pickle is interpreted by a
/// restricted machine that accepts only what a state dict needs
/// (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, typed storage classes) and
/// refuses every other global: nothing from the file is ever executed.
///
/// The pickled object may be the state dict itself or a dict wrapping it under one of
/// ``wrapperKeys``; the key used is recorded in the result's metadata under
/// ``StateDict/wrapperKeyMetadata``.
public enum TorchCheckpoint {
    /// Keys of wrapper dicts that are searched, in this order, for the state dict.
    public static let wrapperKeys = [
        "state_dict", "model_state_dict", "model", "params", "params_ema", "net", "network", "module",
    ]

    /// Reads a `torch.save` zip archive holding a state dict.
    /// - Throws: ``CheckpointError`` for I/O failures, truncated or compressed archives,
    ///   refused pickle globals, malformed pickles, unsupported storage types and objects
    ///   that are not state dicts.
    public static func read(contentsOf url: URL) throws(CheckpointError) -> StateDict {
        try read(bytes: try FileBytes.read(url), file: url.lastPathComponent)
    }

    /// Parses `torch.save` archive bytes; `file` names the source in errors (usually the
    /// file name).
    public static func read(bytes: [UInt8], file: String) throws(CheckpointError) -> StateDict {
        let archive = try ZipArchive(bytes: bytes, file: file)
        let pickles = archive.entries.filter { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }
        guard let pickle = pickles.min(by: { $0.name.count < $1.name.count }) else {
            throw .notACheckpoint(file: file, reason: "zip archive has no data.pkl (not written by torch.save)")
        }
        let root = String(pickle.name.dropLast("data.pkl".count))
        var bigEndian = false
        if let order = archive.entry(named: root + "byteorder") {
            let text = String(decoding: try archive.contents(of: order), as: UTF8.self)
            switch text.trimmingCharacters(in: .whitespacesAndNewlines) {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw .malformedZip(file: file, reason: "byteorder entry says '\(text)'")
            }
        }
        let cache = StorageCache()
        var machine = PickleMachine(bytes: try archive.contents(of: pickle), file: file) {
            (dtype, key, numel) throws(CheckpointError) -> PickleStorage in
            if let cached = cache.storages[key] {
                guard cached.dtype == dtype else {
                    throw .malformedPickle(
                        file: file, offset: 0,
                        reason: "storage '\(key)' used as both \(cached.dtype.rawValue) and \(dtype.rawValue)")
                }
                return cached
            }
            let name = root + "data/" + key
            guard let entry = archive.entry(named: name) else {
                throw .malformedZip(file: file, reason: "storage entry '\(name)' is missing")
            }
            var data = try archive.contents(of: entry)
            let (needed, overflow) = numel.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, data.count >= needed else {
                throw .truncated(
                    file: file,
                    what: "storage '\(name)' holds \(data.count) bytes, fewer than \(numel) \(dtype.rawValue) elements")
            }
            data = data.prefix(needed)
            if bigEndian && dtype.byteSize > 1 { data = byteSwapped(data, elementSize: dtype.byteSize) }
            let storage = PickleStorage(dtype: dtype, key: key, data: data)
            cache.storages[key] = storage
            return storage
        }
        let value = try machine.run()
        return try stateDict(from: value, file: file)
    }

    /// Unwraps the decoded object into a state dict.
    static func stateDict(from value: PickleValue, file: String) throws(CheckpointError) -> StateDict {
        guard case .dict(let top) = value else {
            throw .notAStateDict(file: file, reason: "the pickled object is a \(value.kind), not a dict")
        }
        if let tensors = tensorDict(top) { return StateDict(tensors: tensors) }
        for key in wrapperKeys {
            guard let i = top.stringIndex[key], case .dict(let inner) = top.values[i],
                let tensors = tensorDict(inner)
            else { continue }
            return StateDict(tensors: tensors, metadata: [StateDict.wrapperKeyMetadata: key])
        }
        let keys = top.keys.prefix(8).map { k -> String in
            if case .string(let s) = k { return "'\(s)'" }
            return k.kind
        }
        throw .notAStateDict(
            file: file,
            reason: "the top-level dict (keys \(keys.joined(separator: ", "))\(top.keys.count > 8 ? ", ..." : "")) "
                + "does not map names to tensors, nor wraps such a dict under "
                + wrapperKeys.map { "'\($0)'" }.joined(separator: ", "))
    }

    /// The dict as name -> tensor, or nil if any key is not a string or any value not a tensor.
    private static func tensorDict(_ dict: PickleDict) -> [String: StoredTensor]? {
        var out = [String: StoredTensor]()
        for (k, v) in zip(dict.keys, dict.values) {
            guard case .string(let name) = k, case .tensor(let t) = v else { return nil }
            out[name] = t
        }
        return out
    }

    private static func byteSwapped(_ data: ArraySlice<UInt8>, elementSize: Int) -> ArraySlice<UInt8> {
        var out = [UInt8](data)
        for start in stride(from: 0, to: out.count - elementSize + 1, by: elementSize) {
            out[start..<(start + elementSize)].reverse()
        }
        return out[...]
    }
}

/// Storages already loaded, shared between the tensors that view them.
///
/// Only used inside one synchronous `TorchCheckpoint.read` call, so it is never shared
/// across threads.
private final class StorageCache {
    var storages: [String: PickleStorage] = [:]
}
