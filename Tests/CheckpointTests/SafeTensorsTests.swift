import Foundation
import Testing

@testable import Checkpoint

/// Locates a fixture copied into the test bundle.
func fixtureURL(_ name: String) throws -> URL {
    let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return url.appendingPathComponent(name)
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("checkpoint-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Writes a safetensors file from a raw header string and data bytes.
func rawSafeTensors(header: String, data: [UInt8]) -> [UInt8] {
    var out = [UInt8]()
    let h = Array(header.utf8)
    out.appendLittleEndian(UInt64(h.count))
    out += h
    out += data
    return out
}

@Suite struct SafeTensorsTests {
    @Test func fixtureLoadsWithExpectedContent() throws {
        let dict = try SafeTensors.read(contentsOf: try fixtureURL("tiny.weights.safetensors"))
        let weight = try #require(dict.tensors["D_conv_down.0.weight"])
        #expect(weight.dtype == .float32)
        #expect(weight.shape == [24, 3, 3, 3])
        let index = try #require(dict.tensors["D_layers.0.residual_group.blocks.0.attn.relative_position_index"])
        #expect(index.dtype == .int64)
        #expect(index.shape == [64, 64])
        let values = try index.int64s()
        #expect(values.min() == 0)
        #expect(values.allSatisfy { $0 >= 0 && $0 < 15 * 15 })
        // tiny.json records the number of learnable parameters; buffers (int64 indices,
        // float attention masks) come on top of that.
        let info =
            try JSONSerialization.jsonObject(with: Data(contentsOf: try fixtureURL("tiny.json"))) as? [String: Any]
        let params = try #require(info?["params"] as? Int)
        let floatCount = dict.tensors.values.filter { !$0.dtype.isIntegral }.reduce(0) { $0 + $1.elementCount }
        #expect(floatCount >= params)
        #expect(dict.elementCount > floatCount)
    }

    @Test func rewritingTheFixtureIsByteIdentical() throws {
        let url = try fixtureURL("tiny.weights.safetensors")
        let original = [UInt8](try Data(contentsOf: url))
        let dict = try SafeTensors.read(bytes: original, file: url.path)
        #expect(try SafeTensors.serialize(dict) == original)
    }

    @Test func roundTripKeepsEveryTensorAndMetadata() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var dict = StateDict(metadata: ["format": "pt", "quote\"key": "line\nbreak"])
        dict.tensors["a.weight"] = StoredTensor(floats: [1, -2.5, 3.25, 0], shape: [2, 2])
        dict.tensors["b.half"] = StoredTensor(floats: [0.5, -1, 65504], shape: [3], dtype: .float16)
        dict.tensors["c.bf"] = StoredTensor(floats: [1, 2], shape: [2], dtype: .bfloat16)
        dict.tensors["d.index"] = StoredTensor(int64s: [1, -7, Int64.max], shape: [3, 1])
        dict.tensors["e.scalar"] = StoredTensor(floats: [42], shape: [])
        dict.tensors["f.empty"] = StoredTensor(floats: [], shape: [0, 4])
        let url = dir.appendingPathComponent("rt.safetensors")
        try SafeTensors.write(dict, to: url)
        let back = try StateDict.load(contentsOf: url)
        #expect(back == dict)
        let headerLength = [UInt8](try Data(contentsOf: url)).prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(headerLength % 8 == 0)
    }

    @Test(.enabled(if: pythonHas("json", "numpy"), "python3 with numpy is needed for the independent reader"))
    func writtenFileReadsBackWithAnIndependentPythonReader() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let values: [Float] = (0..<6).map { Float($0) * 0.75 - 1 }
        var dict = StateDict(metadata: ["note": "written by swift"])
        dict.tensors["w"] = StoredTensor(floats: values, shape: [2, 3])
        dict.tensors["h"] = StoredTensor(floats: values, shape: [3, 2], dtype: .float16)
        dict.tensors["i"] = StoredTensor(int64s: [3, -4], shape: [2])
        let url = dir.appendingPathComponent("py.safetensors")
        try SafeTensors.write(dict, to: url)
        // A reader written from the format description: u64 length, JSON, raw data.
        let script = """
            import json, struct, sys
            import numpy as np
            raw = open(sys.argv[1], 'rb').read()
            (n,) = struct.unpack('<Q', raw[:8])
            assert n % 8 == 0, n
            header = json.loads(raw[8:8 + n])
            data = raw[8 + n:]
            kinds = {'F32': '<f4', 'F16': '<f2', 'I64': '<i8'}
            out = {'__metadata__': header.pop('__metadata__')}
            for name, e in header.items():
                b, end = e['data_offsets']
                a = np.frombuffer(data[b:end], dtype=kinds[e['dtype']]).reshape(e['shape'])
                out[name] = [e['dtype'], list(a.shape), a.astype(np.float64).ravel().tolist()]
            print(json.dumps(out, sort_keys=True))
            """
        let result = try runPython(script, arguments: [url.path])
        #expect(result.status == 0)
        let decoded = try #require(
            try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(decoded["__metadata__"] as? [String: String] == ["note": "written by swift"])
        for (name, dtype, shape) in [("w", "F32", [2, 3]), ("h", "F16", [3, 2]), ("i", "I64", [2])] {
            let entry = try #require(decoded[name] as? [Any])
            #expect(entry[0] as? String == dtype)
            #expect(entry[1] as? [Int] == shape)
            let got = try #require(entry[2] as? [Double])
            #expect(got == (try dict.floats(name)).map(Double.init), "\(name)")
        }
    }

    @Test func truncatedFileIsRefused() throws {
        let url = try fixtureURL("tiny.weights.safetensors")
        let bytes = [UInt8](try Data(contentsOf: url))
        for cut in [4, 100, bytes.count - 1] {
            #expect(throws: CheckpointError.self) {
                try SafeTensors.read(bytes: Array(bytes.prefix(cut)), file: "cut.safetensors")
            }
        }
        do {
            _ = try SafeTensors.read(bytes: Array(bytes.prefix(100)), file: "cut.safetensors")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("cut.safetensors: truncated"))
        }
    }

    @Test func offsetsThatDisagreeWithTheShapeAreRefused() throws {
        let data = [UInt8](repeating: 0, count: 16)
        let cases: [(String, String)] = [
            (
                #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#,
                "hold 12 bytes but shape [2, 2] of F32 needs 16"
            ),
            (#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#, "outside the 16-byte data section"),
            (#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[8,4]}}"#, "outside"),
        ]
        for (header, message) in cases {
            do {
                _ = try SafeTensors.read(bytes: rawSafeTensors(header: header, data: data), file: "x.safetensors")
                Issue.record("accepted \(header)")
            } catch {
                guard case .badOffsets(let file, let tensor, _) = error else {
                    Issue.record("wrong error \(error)")
                    continue
                }
                #expect(file == "x.safetensors" && tensor == "w")
                #expect(error.description.contains(message), "\(error.description)")
            }
        }
    }

    @Test func malformedHeadersAreRefused() throws {
        let data = [UInt8](repeating: 0, count: 8)
        do {
            _ = try SafeTensors.read(bytes: rawSafeTensors(header: #"{"w":{"dtype":"F32","#, data: data), file: "h.st")
            Issue.record("accepted bad JSON")
        } catch {
            #expect(error.description.hasPrefix("h.st: bad safetensors header: invalid JSON"))
        }
        do {
            _ = try SafeTensors.read(
                bytes: rawSafeTensors(header: #"{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: data),
                file: "h.st")
            Issue.record("accepted unknown dtype")
        } catch {
            #expect(error == .unsupportedDType(file: "h.st", tensor: "w", dtype: "C64"))
        }
        #expect(throws: CheckpointError.self) {
            try SafeTensors.read(
                bytes: rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: data),
                file: "h.st")
        }
        #expect(throws: CheckpointError.self) {
            try SafeTensors.read(bytes: Array("hello, world, not a checkpoint".utf8), file: "h.st")
        }
    }
}

@Suite struct SafeTensorsOverlapTests {
    @Test func tensorsSharingBytesAreRefused() {
        let header = """
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
             "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
            """
        do {
            _ = try SafeTensors.read(
                bytes: rawSafeTensors(header: header, data: [UInt8](repeating: 0, count: 12)), file: "o.st")
            Issue.record("accepted overlapping tensors")
        } catch {
            #expect(error.description.contains("o.st"), "\(error)")
            #expect(error.description.contains("overlap"), "\(error)")
        }
        // Back to back is fine.
        let fine = """
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
             "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}
            """
        #expect(throws: Never.self) {
            _ = try SafeTensors.read(
                bytes: rawSafeTensors(header: fine, data: [UInt8](repeating: 0, count: 12)), file: "f.st")
        }
    }
}
