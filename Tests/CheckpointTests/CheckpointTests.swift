import Foundation
import Testing

@testable import Checkpoint

private func fixture(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
}

private func tempURL(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)-\(name)")
}

@Test func pthAndSafetensorsHoldIdenticalTensors() throws {
    let pth = try StateDict.load(contentsOf: fixture("tiny.pth"))
    let st = try StateDict.load(contentsOf: fixture("tiny.weights.safetensors"))
    #expect(pth.tensors.count > 100)
    #expect(Set(pth.tensors.keys) == Set(st.tensors.keys))
    for (k, a) in pth.tensors {
        let b = try #require(st.tensors[k])
        #expect(a.shape == b.shape, "\(k)")
        #expect(a.dtype == b.dtype, "\(k)")
        #expect(a.data == b.data, "\(k)")
    }
    // The relative position index buffer is int64 and holds indices into the bias table.
    let idx = try #require(pth.tensors.first { $0.key.hasSuffix("relative_position_index") }?.value)
    #expect(idx.dtype == .int64)
    #expect(idx.shape == [64, 64])
    #expect(idx.int64s().max() == 224)
}

@Test func safetensorsRoundTrip() throws {
    var dict = StateDict(metadata: ["format": "pt"])
    dict.tensors["a.weight"] = StoredTensor(floats: [1, -2, 3.5, 0, 7, 8], shape: [2, 3])
    dict.tensors["b"] = StoredTensor(dtype: .int64, shape: [2], data: [5, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255])
    let url = tempURL("rt.safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    try SafeTensors.write(dict, to: url)
    let back = try SafeTensors.read(contentsOf: url)
    #expect(back.tensors == dict.tensors)
    #expect(back.metadata == ["format": "pt"])
    #expect(back.tensors["b"]?.int64s() == [5, -1])
    let headerLength = try Data(contentsOf: url).prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    #expect(headerLength % 8 == 0)
}

@Test func halfAndBFloat16Convert() {
    // 1.0, -2.0, 65504 (max half), smallest subnormal, 0.5 in half; 1.0 and -3.0 in bf16.
    let half = StoredTensor(dtype: .float16, shape: [5], data: [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00, 0x00, 0x38])
    let f = half.floats()
    #expect(f[0] == 1 && f[1] == -2 && f[2] == 65504 && f[4] == 0.5)
    #expect(abs(f[3] - 5.960464e-8) < 1e-12)
    let bf = StoredTensor(dtype: .bfloat16, shape: [2], data: [0x80, 0x3F, 0x40, 0xC0])
    #expect(bf.floats() == [1, -3])
}

@Test func modulePrefixIsStripped() throws {
    var dict = StateDict()
    dict.tensors["module.conv.weight"] = StoredTensor(floats: [1], shape: [1])
    let url = tempURL("prefixed.safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    try SafeTensors.write(dict, to: url)
    #expect(try StateDict.load(contentsOf: url).tensors.keys.sorted() == ["conv.weight"])
}

@Test func truncatedZipIsRefused() throws {
    let bytes = try Data(contentsOf: fixture("tiny.pth"))
    let url = tempURL("truncated.pth")
    defer { try? FileManager.default.removeItem(at: url) }
    try bytes.prefix(bytes.count / 2).write(to: url)
    let error = #expect(throws: CheckpointError.self) { try StateDict.load(contentsOf: url) }
    #expect(error?.description.contains("truncated") == true)
    #expect(error?.description.hasPrefix(url.lastPathComponent) == true)
}

@Test func truncatedSafetensorsIsRefused() throws {
    let bytes = try Data(contentsOf: fixture("tiny.weights.safetensors"))
    let error = #expect(throws: CheckpointError.self) {
        try SafeTensors.read(bytes: Array(bytes.prefix(bytes.count - 100)), name: "cut.safetensors")
    }
    #expect(error?.description.contains("outside") == true)
}

@Test func safetensorsShapeMismatchIsRefused() throws {
    let header = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
    var bytes = [UInt8](repeating: 0, count: 8)
    var h = Array(header.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    bytes[0] = UInt8(h.count)
    bytes += h + [UInt8](repeating: 0, count: 8)
    let error = #expect(throws: CheckpointError.self) { try SafeTensors.read(bytes: bytes, name: "bad.safetensors") }
    #expect(error?.description.contains("do not match shape [3]") == true)
}

/// Builds a stored zip holding `archive/data.pkl` with the given pickle bytes.
private func storedZip(pickle: [UInt8]) -> [UInt8] {
    func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    let name = Array("archive/data.pkl".utf8)
    var local: [UInt8] = le(0x0403_4B50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4)
    local += le(pickle.count, 4) + le(pickle.count, 4) + le(name.count, 2) + le(0, 2) + name + pickle
    var central: [UInt8] = le(0x0201_4B50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4)
    central += le(pickle.count, 4) + le(pickle.count, 4) + le(name.count, 2) + le(0, 2) + le(0, 2) + le(0, 2)
    central += le(0, 2) + le(0, 4) + le(0, 4) + name
    let eocd: [UInt8] = le(0x0605_4B50, 4) + le(0, 2) + le(0, 2) + le(1, 2) + le(1, 2) + le(central.count, 4)
        + le(local.count, 4) + le(0, 2)
    return local + central + eocd
}

@Test func unknownPickleGlobalIsRefusedAndNamed() throws {
    // PROTO 2; GLOBAL 'os system'; 'echo' ; TUPLE1; REDUCE; STOP
    var pickle: [UInt8] = [0x80, 0x02, 0x63] + Array("os\nsystem\n".utf8)
    pickle += [0x58, 4, 0, 0, 0] + Array("echo".utf8) + [0x85, 0x52, 0x2E]
    let error = #expect(throws: CheckpointError.self) {
        try TorchCheckpoint.read(bytes: storedZip(pickle: pickle), name: "evil.pth")
    }
    #expect(error?.description == "evil.pth: refusing pickle global 'os.system': only state_dict tensors are allowed")
}

@Test func plainPickleDictWithoutTensorsIsEmpty() throws {
    // PROTO 2; EMPTY_DICT; STOP
    let dict = try TorchCheckpoint.read(bytes: storedZip(pickle: [0x80, 0x02, 0x7D, 0x2E]), name: "empty.pth")
    #expect(dict.tensors.isEmpty)
}

@Test func sha256MatchesKnownVectors() {
    #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(SHA256.hex(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    let long = Array(String(repeating: "a", count: 1000).utf8)
    #expect(SHA256.hex(of: long) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
}
