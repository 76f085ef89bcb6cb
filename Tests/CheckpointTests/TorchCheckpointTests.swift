import Foundation
import Testing

@testable import Checkpoint

/// A pickle `{name: tensor, ...}` as torch writes it (OrderedDict, BUILD with metadata).
func stateDictPickle(_ body: (inout PickleWriter) -> Void) -> [UInt8] {
    var p = PickleWriter()
    p.global("collections", "OrderedDict")
    p.emptyTuple()
    p.reduce()
    p.mark()
    body(&p)
    p.setItems()
    p.emptyDict()  // the `_metadata` state torch attaches; ignored
    p.op(0x62)  // BUILD
    p.stop()
    return p.bytes
}

func expectError(_ bytes: [UInt8], file: String = "x.pth", _ check: (CheckpointError) -> Bool) {
    do {
        let dict = try TorchCheckpoint.read(bytes: bytes, file: file)
        Issue.record("accepted, got \(dict.tensors.count) tensors")
    } catch {
        #expect(check(error), "unexpected error: \(error)")
        #expect(!error.description.contains("\n"))
    }
}

@Suite struct TorchCheckpointTests {
    @Test(arguments: [false, true])
    func stridedAndOffsetTensorsAreMaterialisedContiguously(zip64: Bool) throws {
        let storage = (0..<12).map { Float($0) * 0.5 }
        let pickle = stateDictPickle { p in
            p.string("transposed")
            // A [2, 3] view with strides (1, 2) starting at element 1.
            p.tensor(storageType: "FloatStorage", key: "0", numel: 12, offset: 1, size: [2, 3], stride: [1, 2])
            p.string("tail")
            p.tensor(storageType: "FloatStorage", key: "0", numel: 12, offset: 8, size: [2, 2], stride: [2, 1])
            p.string("broadcast")
            p.tensor(storageType: "FloatStorage", key: "0", numel: 12, offset: 3, size: [2, 2], stride: [0, 1])
            p.string("scalar")
            p.tensor(storageType: "FloatStorage", key: "0", numel: 12, offset: 11, size: [], stride: [])
        }
        let bytes = torchArchive(pickle: pickle, storages: ["0": float32Bytes(storage)], zip64: zip64)
        let dict = try TorchCheckpoint.read(bytes: bytes, file: "strided.pth")

        func expected(offset: Int, size: [Int], stride: [Int]) -> [Float] {
            var out = [Float]()
            for i in 0..<size[0] {
                for j in 0..<size[1] { out.append(storage[offset + i * stride[0] + j * stride[1]]) }
            }
            return out
        }
        #expect(try dict.floats("transposed") == expected(offset: 1, size: [2, 3], stride: [1, 2]))
        #expect(dict.tensors["transposed"]?.shape == [2, 3])
        #expect(try dict.floats("tail") == expected(offset: 8, size: [2, 2], stride: [2, 1]))
        #expect(try dict.floats("broadcast") == expected(offset: 3, size: [2, 2], stride: [0, 1]))
        #expect(try dict.floats("scalar") == [storage[11]])
        #expect(dict.tensors["scalar"]?.shape == [])
    }

    @Test func halfBFloatAndLongStoragesKeepTheirDType() throws {
        let half: [UInt16] = [0x3C00, 0xC000, 0x0001]  // 1, -2, 2^-24
        let bf: [UInt16] = [0x3F80, 0x4049]  // 1, 3.140625
        var halfBytes = [UInt8](), bfBytes = [UInt8](), longBytes = [UInt8]()
        for h in half { halfBytes.appendLittleEndian(h) }
        for b in bf { bfBytes.appendLittleEndian(b) }
        for l: Int64 in [5, -1] { longBytes.appendLittleEndian(UInt64(bitPattern: l)) }
        let pickle = stateDictPickle { p in
            p.string("h")
            p.tensor(storageType: "HalfStorage", key: "a", numel: 3, offset: 0, size: [3], stride: [1])
            p.string("b")
            p.tensor(storageType: "BFloat16Storage", key: "b", numel: 2, offset: 0, size: [2], stride: [1])
            p.string("l")
            p.tensor(storageType: "LongStorage", key: "c", numel: 2, offset: 0, size: [2], stride: [1])
        }
        let dict = try TorchCheckpoint.read(
            bytes: torchArchive(pickle: pickle, storages: ["a": halfBytes, "b": bfBytes, "c": longBytes]), file: "t.pth"
        )
        #expect(dict.tensors["h"]?.dtype == .float16)
        #expect(try dict.floats("h") == [1, -2, Float(sign: .plus, exponent: -24, significand: 1)])
        #expect(dict.tensors["b"]?.dtype == .bfloat16)
        #expect(try dict.floats("b") == [1, 3.140625])
        #expect(try dict.tensors["l"]?.int64s() == [5, -1])
    }

    @Test func bigEndianArchivesAreSwapped() throws {
        var storage = [UInt8]()
        for v: Float in [1.5, -3] {
            storage.append(contentsOf: withUnsafeBytes(of: v.bitPattern.bigEndian) { Array($0) })
        }
        let pickle = stateDictPickle { p in
            p.string("w")
            p.tensor(storageType: "FloatStorage", key: "0", numel: 2, offset: 0, size: [2], stride: [1])
        }
        let dict = try TorchCheckpoint.read(
            bytes: torchArchive(pickle: pickle, storages: ["0": storage], byteorder: "big"), file: "be.pth")
        #expect(try dict.floats("w") == [1.5, -3])
    }

    @Test(arguments: ["state_dict", "params", "model"])
    func wrappedStateDictsAreUnwrapped(key: String) throws {
        var p = PickleWriter()
        p.emptyDict()
        p.mark()
        p.string("epoch")
        p.int(12)
        p.string(key)
        p.global("collections", "OrderedDict")
        p.emptyTuple()
        p.reduce()
        p.mark()
        p.string("module.w")
        p.tensor(storageType: "FloatStorage", key: "0", numel: 2, offset: 0, size: [2], stride: [1])
        p.setItems()
        p.setItems()
        p.stop()
        let dict = try TorchCheckpoint.read(
            bytes: torchArchive(pickle: p.bytes, storages: ["0": float32Bytes([4, 5])]), file: "w.pth")
        #expect(dict.metadata[StateDict.wrapperKeyMetadata] == key)
        #expect(Array(dict.tensors.keys) == ["module.w"])
        let stripped = dict.strippingPrefix("module.")
        #expect(try stripped.floats("w") == [4, 5])
    }

    @Test func unknownGlobalsAreRefusedByName() throws {
        // The classic payload: os.system('...') via GLOBAL + REDUCE, and via STACK_GLOBAL.
        var classic = PickleWriter()
        classic.global("os", "system")
        classic.mark()
        classic.string("echo should-never-run")
        classic.tuple()
        classic.reduce()
        classic.stop()
        expectError(torchArchive(pickle: classic.bytes, storages: [:]), file: "tiny.pth") { error in
            error.description == "tiny.pth: refusing pickle global 'os.system': only state_dict tensors are allowed"
        }
        var modern = PickleWriter(protocol: 4)
        modern.stackGlobal("builtins", "eval")
        modern.stop()
        expectError(torchArchive(pickle: modern.bytes, storages: [:])) {
            $0 == .refusedGlobal(file: "x.pth", global: "builtins.eval")
        }
        // A refused global nested inside an otherwise valid state dict.
        let nested = stateDictPickle { p in
            p.string("w")
            p.global("subprocess", "Popen")
        }
        expectError(torchArchive(pickle: nested, storages: [:])) {
            $0 == .refusedGlobal(file: "x.pth", global: "subprocess.Popen")
        }
    }

    @Test(.enabled(if: pythonHas("pickle", "zipfile"), "python3 is needed to write the hostile pickle"))
    func pythonMadeMaliciousPickleIsRefused() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("evil.pth")
        // pickle.dumps of an object whose __reduce__ calls os.system: what an attacker's
        // checkpoint looks like.
        let script = """
            import os, pickle, sys, zipfile
            class Evil:
                def __reduce__(self):
                    return (os.system, ('echo pwned',))
            with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
                z.writestr('evil/data.pkl', pickle.dumps({'w': Evil()}, protocol=2))
                z.writestr('evil/byteorder', 'little')
            """
        #expect(try runPython(script, arguments: [url.path]).status == 0)
        do {
            _ = try StateDict.load(contentsOf: url)
            Issue.record("accepted a malicious pickle")
        } catch {
            // CPython pickles os.system as posix.system.
            guard case .refusedGlobal(_, let global) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(global.hasSuffix(".system"))
        }
    }

    @Test(.enabled(if: pythonHas("zipfile"), "python3 is needed to rewrite the archive"))
    func archiveRewrittenByPythonWithZip64HeadersReadsTheSame() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("rezipped.pth")
        // Python's zipfile writes zip64 extra fields into local headers when forced and
        // lays entries out without torch's alignment padding.
        let script = """
            import sys, zipfile
            src = zipfile.ZipFile(sys.argv[1])
            with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_STORED) as dst:
                for info in src.infolist():
                    with dst.open(info.filename, 'w', force_zip64=True) as f:
                        f.write(src.read(info.filename))
            """
        let original = try fixtureURL("tiny.pth")
        #expect(try runPython(script, arguments: [original.path, url.path]).status == 0)
        #expect(try StateDict.load(contentsOf: url).tensors == StateDict.load(contentsOf: original).tensors)
    }

    @Test func truncatedArchivesAreRefused() throws {
        let bytes = [UInt8](try Data(contentsOf: try fixtureURL("tiny.pth")))
        for cut in [10, bytes.count / 2, bytes.count - 30] {
            expectError(Array(bytes.prefix(cut))) { error in
                if case .truncated = error { return true }
                return false
            }
        }
    }

    @Test func corruptedStorageFailsTheCRC() throws {
        let pickle = stateDictPickle { p in
            p.string("w")
            p.tensor(storageType: "FloatStorage", key: "0", numel: 2, offset: 0, size: [2], stride: [1])
        }
        var bytes = torchArchive(pickle: pickle, storages: ["0": float32Bytes([1, 2])])
        let marker = Array("archive/data/0".utf8)
        let at = try #require(
            (0...(bytes.count - marker.count)).first { Array(bytes[$0..<($0 + marker.count)]) == marker })
        bytes[at + marker.count + 1] ^= 0xFF
        expectError(bytes) { $0.description.contains("CRC-32 mismatch in 'archive/data/0'") }
    }

    @Test func compressedEntriesAreRefused() throws {
        let pickle = stateDictPickle { _ in }
        expectError(torchArchive(pickle: pickle, storages: [:], method: 8)) { error in
            guard case .compressedEntry("x.pth", let entry, 8) = error else { return false }
            return entry.hasPrefix("archive/") && error.description.contains("compressed (method 8)")
        }
    }

    @Test func viewsBeyondTheirStorageAreRefused() throws {
        let pickle = stateDictPickle { p in
            p.string("w")
            p.tensor(storageType: "FloatStorage", key: "0", numel: 4, offset: 2, size: [2, 2], stride: [2, 1])
        }
        expectError(torchArchive(pickle: pickle, storages: ["0": float32Bytes([1, 2, 3, 4])])) {
            $0.description.contains("reaches element 5 of storage '0' holding 4")
        }
    }

    @Test func missingStoragesAndOddStorageTypesAreRefused() throws {
        let missing = stateDictPickle { p in
            p.string("w")
            p.tensor(storageType: "FloatStorage", key: "7", numel: 1, offset: 0, size: [1], stride: [1])
        }
        expectError(torchArchive(pickle: missing, storages: [:])) {
            $0.description.contains("'archive/data/7' is missing")
        }
        let complex = stateDictPickle { p in
            p.string("w")
            p.tensor(storageType: "ComplexFloatStorage", key: "0", numel: 1, offset: 0, size: [1], stride: [1])
        }
        expectError(torchArchive(pickle: complex, storages: ["0": [UInt8](repeating: 0, count: 8)])) {
            if case .unsupportedDType(_, _, "torch.ComplexFloatStorage") = $0 { return true }
            return false
        }
    }

    @Test func nonStateDictObjectsAreRefused() throws {
        var p = PickleWriter()
        p.emptyDict()
        p.mark()
        p.string("epoch")
        p.int(3)
        p.setItems()
        p.stop()
        expectError(torchArchive(pickle: p.bytes, storages: [:])) { error in
            if case .notAStateDict = error { return error.description.contains("'epoch'") }
            return false
        }
        var zip = ZipWriter()
        zip.add("readme.txt", Array("hello".utf8))
        expectError(zip.bytes()) { if case .notACheckpoint = $0 { return true } else { return false } }
    }
}
