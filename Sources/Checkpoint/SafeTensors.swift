import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping each
/// name to `{dtype, shape, data_offsets}` (plus an optional `__metadata__` object of strings),
/// then the raw little-endian data.
public enum SafeTensors {
    /// Reads a safetensors file.
    /// - Throws: ``CheckpointError``.
    public static func read(contentsOf url: URL) throws(CheckpointError) -> StateDict {
        try read(bytes: StateDict.readFile(url), name: url.lastPathComponent)
    }

    /// Parses safetensors bytes; `name` labels errors.
    public static func read(bytes: [UInt8], name: String) throws(CheckpointError) -> StateDict {
        func fail(_ problem: String) -> CheckpointError { CheckpointError(file: name, problem: problem) }
        guard bytes.count >= 8 else { throw fail("too short for a safetensors header (\(bytes.count) bytes)") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("header length \(headerLength) exceeds the file (\(bytes.count) bytes): truncated or not safetensors")
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart]))
        } catch {
            throw fail("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        var dict = StateDict()
        let dataCount = bytes.count - dataStart
        for (key, value) in header {
            if key == "__metadata__" {
                if let meta = value as? [String: String] { dict.metadata = meta }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int],
                  let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("tensor '\(key)': header entry lacks dtype, shape or data_offsets") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor '\(key)': unsupported dtype \(dtypeName)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end <= dataCount else {
                throw fail("tensor '\(key)': data_offsets [\(begin), \(end)] outside the \(dataCount) data bytes (truncated file?)")
            }
            guard shape.allSatisfy({ $0 >= 0 }), end - begin == shape.reduce(1, *) * dtype.size else {
                throw fail("tensor '\(key)': \(end - begin) bytes do not match shape \(shape) of \(dtypeName)")
            }
            dict.tensors[key] = StoredTensor(dtype: dtype, shape: shape,
                                             data: Array(bytes[(dataStart + begin)..<(dataStart + end)]))
        }
        return dict
    }

    /// Serialises tensors: names sorted, header padded with spaces to a multiple of 8 bytes.
    public static func serialize(_ dict: StateDict) -> [UInt8] {
        var entries: [String] = []
        if !dict.metadata.isEmpty {
            let meta = dict.metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(dict.metadata[$0] ?? ""))" }
            entries.append("\"__metadata__\":{\(meta.joined(separator: ","))}")
        }
        var offset = 0
        let names = dict.tensors.keys.sorted()
        for name in names {
            guard let t = dict.tensors[name] else { continue }
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.data.count)]}")
            offset += t.data.count
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        let n = UInt64(header.count)
        for i in 0..<8 { out.append(UInt8((n >> (8 * UInt64(i))) & 0xFF)) }
        out += header
        for name in names { if let t = dict.tensors[name] { out += t.data } }
        return out
    }

    /// Writes a safetensors file.
    /// - Throws: ``CheckpointError`` when the file cannot be written.
    public static func write(_ dict: StateDict, to url: URL) throws(CheckpointError) {
        do {
            try Data(serialize(dict)).write(to: url, options: .atomic)
        } catch {
            throw CheckpointError(file: url.path, problem: "cannot write: \(error.localizedDescription)")
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
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
