import Foundation

/// Minimal safetensors reader for the test fixtures: 8-byte little-endian header length,
/// a JSON header `{name: {dtype, shape, data_offsets}}`, then raw little-endian data.
struct SafetensorsFile {
    struct Tensor {
        let dtype: String
        let shape: [Int]
        let data: Data
    }

    enum Problem: Error, CustomStringConvertible {
        case malformed(String)
        var description: String {
            switch self {
            case .malformed(let text): return "safetensors: \(text)"
            }
        }
    }

    let tensors: [String: Tensor]

    init(url: URL) throws {
        let data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw Problem.malformed("file shorter than 8 bytes") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(data[data.startIndex + i]) << UInt64(8 * i) }
        let headerEnd = 8 + Int(headerLength)
        guard headerEnd <= data.count else { throw Problem.malformed("header runs past end of file") }
        let json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd))
        guard let header = json as? [String: Any] else { throw Problem.malformed("header is not an object") }
        var tensors: [String: Tensor] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int],
                offsets.count == 2
            else { throw Problem.malformed("bad entry \(name)") }
            let lower = headerEnd + offsets[0]
            let upper = headerEnd + offsets[1]
            guard upper <= data.count, lower <= upper else { throw Problem.malformed("\(name) data out of range") }
            tensors[name] = Tensor(dtype: dtype, shape: shape, data: data.subdata(in: lower..<upper))
        }
        self.tensors = tensors
    }

    func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        guard let tensor = tensors[name] else { throw Problem.malformed("no tensor \(name)") }
        guard tensor.dtype == "F32" else { throw Problem.malformed("\(name) is \(tensor.dtype), expected F32") }
        let count = tensor.data.count / 4
        var values = [Float](repeating: 0, count: count)
        tensor.data.withUnsafeBytes { raw in
            for i in 0..<count {
                values[i] = Float(
                    bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        }
        return (tensor.shape, values)
    }
}

enum Fixtures {
    static func url(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else {
            throw SafetensorsFile.Problem.malformed("fixture \(name) missing from the test bundle")
        }
        return url
    }
}

/// A fresh temporary directory, removed by the caller.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("spikecore-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
