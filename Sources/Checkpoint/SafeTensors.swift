import Foundation

/// Reads and writes the safetensors format.
///
/// Layout: an 8-byte little-endian `UInt64` header length `N`, then `N` bytes of UTF-8 JSON
/// `{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__":
/// {str: str}}`, then the data section; offsets are relative to the start of the data
/// section.
public enum SafeTensors {
    /// The largest header accepted (the reference implementation's limit).
    static let maxHeaderSize = 100_000_000

    /// Reads a safetensors file.
    /// - Throws: ``CheckpointError`` for I/O failures, truncation, malformed header JSON,
    ///   unknown dtypes, and offsets outside the data section or not matching the shape.
    public static func read(contentsOf url: URL) throws(CheckpointError) -> StateDict {
        try read(bytes: try FileBytes.read(url), file: url.lastPathComponent)
    }

    /// Parses safetensors bytes; `file` names the source in errors (usually the file name).
    public static func read(bytes: [UInt8], file: String) throws(CheckpointError) -> StateDict {
        guard bytes.count >= 8 else {
            throw .truncated(file: file, what: "\(bytes.count) bytes, shorter than the 8-byte header length")
        }
        var headerSize: UInt64 = 0
        for i in (0..<8).reversed() { headerSize = headerSize << 8 | UInt64(bytes[i]) }
        guard headerSize <= UInt64(maxHeaderSize) else {
            throw .notACheckpoint(
                file: file, reason: "header length \(headerSize) is implausible (neither a zip nor safetensors file)")
        }
        let headerEnd = 8 + Int(headerSize)
        guard headerEnd <= bytes.count else {
            throw .truncated(
                file: file, what: "header announces \(headerSize) bytes but only \(bytes.count - 8) follow")
        }
        let headerBytes = bytes[8..<headerEnd]
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw .notACheckpoint(file: file, reason: "no zip signature and no safetensors JSON header")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw .badHeader(file: file, reason: "invalid JSON (\(error.localizedDescription))")
        }
        guard let header = json as? [String: Any] else {
            throw .badHeader(file: file, reason: "top level is not a JSON object")
        }
        let dataStart = headerEnd
        let dataCount = bytes.count - dataStart
        var dict = StateDict()
        var spans: [(begin: Int, end: Int, name: String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let meta = value as? [String: Any] else {
                    throw .badHeader(file: file, reason: "__metadata__ is not an object")
                }
                for (k, v) in meta {
                    guard let s = v as? String else {
                        throw .badHeader(file: file, reason: "__metadata__['\(k)'] is not a string")
                    }
                    dict.metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else {
                throw .badHeader(file: file, reason: "entry '\(name)' is not an object")
            }
            guard let dtypeName = entry["dtype"] as? String else {
                throw .badHeader(file: file, reason: "entry '\(name)' has no string 'dtype'")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw .unsupportedDType(file: file, tensor: name, dtype: dtypeName)
            }
            guard let shapeValues = entry["shape"] as? [Any], let shape = integers(shapeValues),
                shape.allSatisfy({ $0 >= 0 })
            else {
                throw .badHeader(file: file, reason: "entry '\(name)' has no list of non-negative integer 'shape'")
            }
            guard let offsetValues = entry["data_offsets"] as? [Any], let offsets = integers(offsetValues),
                offsets.count == 2
            else {
                throw .badHeader(file: file, reason: "entry '\(name)' has no [begin, end] integer 'data_offsets'")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataCount else {
                throw .badOffsets(
                    file: file, tensor: name,
                    reason: "data_offsets [\(begin), \(end)] outside the \(dataCount)-byte data section")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let m = acc.0.multipliedReportingOverflow(by: d)
                return (m.partialValue, acc.1 || m.overflow)
            }
            let (byteCount, overflow2) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, !overflow2, byteCount == end - begin else {
                throw .badOffsets(
                    file: file, tensor: name,
                    reason: "data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shape) "
                        + "of \(dtype.rawValue) needs \(overflow || overflow2 ? "too many" : String(byteCount))")
            }
            dict.tensors[name] = StoredTensor(
                dtype: dtype, shape: shape, data: Array(bytes[(dataStart + begin)..<(dataStart + end)]))
            if end > begin { spans.append((begin, end, name)) }
        }
        // Tensors may not share bytes (the format lays them out back to back).
        spans.sort { $0.begin < $1.begin }
        for (a, b) in zip(spans, spans.dropFirst()) where b.begin < a.end {
            throw .badOffsets(
                file: file, tensor: b.name,
                reason: "data_offsets [\(b.begin), \(b.end)] overlap '\(a.name)' [\(a.begin), \(a.end)]")
        }
        return dict
    }

    /// Writes a state dict as safetensors, replacing any file at `url`.
    ///
    /// Tensors are laid out as the reference writer does (largest element type first, then
    /// by name, so each tensor is aligned to its element size); the JSON header lists
    /// `__metadata__` (if any, keys sorted) and then the tensors in layout order, and is
    /// padded with spaces to a multiple of 8 bytes.
    /// - Throws: ``CheckpointError/io(file:reason:)`` if the file cannot be written, or
    ///   ``CheckpointError/badTensor(tensor:reason:)`` if a tensor's bytes do not match its
    ///   shape.
    public static func write(_ dict: StateDict, to url: URL) throws(CheckpointError) {
        let bytes = try serialize(dict)
        do {
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw .io(file: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// The safetensors bytes of a state dict (see ``write(_:to:)``).
    /// - Throws: ``CheckpointError/badTensor(tensor:reason:)`` if a tensor's bytes do not
    ///   match its shape.
    public static func serialize(_ dict: StateDict) throws(CheckpointError) -> [UInt8] {
        let order = dict.tensors.keys.sorted { a, b in
            let (ra, rb) = (dict.tensors[a]?.dtype.layoutRank ?? 0, dict.tensors[b]?.dtype.layoutRank ?? 0)
            return ra != rb ? ra > rb : a.utf8.lexicographicallyPrecedes(b.utf8)
        }
        var json = "{"
        var first = true
        if !dict.metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += dict.metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                .map { "\(jsonString($0)):\(jsonString(dict.metadata[$0] ?? ""))" }
                .joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for name in order {
            guard let t = dict.tensors[name] else { continue }
            if let problem = t.sizeProblem { throw .badTensor(tensor: name, reason: problem) }
            if !first { json += "," }
            first = false
            let shape = t.shape.map(String.init).joined(separator: ",")
            json +=
                "\(jsonString(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(offset),\(offset + t.data.count)]}"
            offset += t.data.count
        }
        json += "}"
        var header = Array(json.utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + offset)
        out.appendLittleEndian(UInt64(header.count))
        out.append(contentsOf: header)
        for name in order { if let t = dict.tensors[name] { out.append(contentsOf: t.data) } }
        return out
    }

    /// JSON numbers as exact non-fractional integers, or nil.
    private static func integers(_ values: [Any]) -> [Int]? {
        var out = [Int]()
        for v in values {
            if let i = v as? Int { out.append(i); continue }
            if let d = v as? Double, let i = Int(exactly: d) { out.append(i); continue }
            return nil
        }
        return out
    }

    /// A JSON string literal escaped as serde_json does (quote, backslash, control chars).
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
