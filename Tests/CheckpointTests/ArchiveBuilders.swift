import Foundation

@testable import Checkpoint

/// Emits pickle opcodes by hand, to build test checkpoints (including hostile ones)
/// without PyTorch.
struct PickleWriter {
    var bytes: [UInt8]

    init(protocol version: UInt8 = 2) { bytes = [0x80, version] }

    mutating func op(_ code: UInt8) { bytes.append(code) }
    mutating func mark() { op(0x28) }
    mutating func tuple() { op(0x74) }
    mutating func emptyTuple() { op(0x29) }
    mutating func emptyDict() { op(0x7D) }
    mutating func reduce() { op(0x52) }
    mutating func setItems() { op(0x75) }
    mutating func setItem() { op(0x73) }
    mutating func stop() { op(0x2E) }

    mutating func global(_ module: String, _ name: String) {
        op(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    mutating func stackGlobal(_ module: String, _ name: String) {
        string(module)
        string(name)
        op(0x93)
    }

    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        op(0x58)
        bytes.appendLittleEndian(UInt32(utf8.count))
        bytes += utf8
    }

    mutating func int(_ v: Int) {
        op(0x4A)
        bytes.appendLittleEndian(Int32(v))
    }

    mutating func intTuple(_ values: [Int]) {
        mark()
        for v in values { int(v) }
        tuple()
    }

    /// `_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`.
    mutating func tensor(storageType: String, key: String, numel: Int, offset: Int, size: [Int], stride: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark()
        string("storage")
        global("torch", storageType)
        string(key)
        string("cpu")
        int(numel)
        tuple()
        op(0x51)  // BINPERSID
        int(offset)
        intTuple(size)
        intTuple(stride)
        op(0x89)  // NEWFALSE
        global("collections", "OrderedDict")
        emptyTuple()
        reduce()
        tuple()
        reduce()
    }
}

/// Writes zip archives of stored entries, optionally in zip64 form or with a fake
/// compression method, for feeding the reader.
struct ZipWriter {
    var entries: [(name: String, data: [UInt8])] = []
    var method: UInt16 = 0
    var zip64 = false

    mutating func add(_ name: String, _ data: [UInt8]) { entries.append((name, data)) }

    func bytes() -> [UInt8] {
        var out = [UInt8]()
        var central = [UInt8]()
        for (name, data) in entries {
            let offset = out.count
            let crc = CRC32.checksum(data)
            let nameBytes = Array(name.utf8)
            out.appendLittleEndian(UInt32(0x0403_4B50))
            out.appendLittleEndian(UInt16(zip64 ? 45 : 20))
            out.appendLittleEndian(UInt16(0))
            out.appendLittleEndian(method)
            out.appendLittleEndian(UInt32(0))  // time, date
            out.appendLittleEndian(crc)
            out.appendLittleEndian(UInt32(data.count))
            out.appendLittleEndian(UInt32(data.count))
            out.appendLittleEndian(UInt16(nameBytes.count))
            out.appendLittleEndian(UInt16(0))
            out += nameBytes
            out += data

            var extra = [UInt8]()
            if zip64 {
                extra.appendLittleEndian(UInt16(1))
                extra.appendLittleEndian(UInt16(24))
                extra.appendLittleEndian(UInt64(data.count))
                extra.appendLittleEndian(UInt64(data.count))
                extra.appendLittleEndian(UInt64(offset))
            }
            central.appendLittleEndian(UInt32(0x0201_4B50))
            central.appendLittleEndian(UInt16(zip64 ? 45 : 20))
            central.appendLittleEndian(UInt16(zip64 ? 45 : 20))
            central.appendLittleEndian(UInt16(0))
            central.appendLittleEndian(method)
            central.appendLittleEndian(UInt32(0))
            central.appendLittleEndian(crc)
            central.appendLittleEndian(zip64 ? UInt32.max : UInt32(data.count))
            central.appendLittleEndian(zip64 ? UInt32.max : UInt32(data.count))
            central.appendLittleEndian(UInt16(nameBytes.count))
            central.appendLittleEndian(UInt16(extra.count))
            central.appendLittleEndian(UInt16(0))  // comment
            central.appendLittleEndian(UInt16(0))  // disk
            central.appendLittleEndian(UInt16(0))  // internal attributes
            central.appendLittleEndian(UInt32(0))  // external attributes
            central.appendLittleEndian(zip64 ? UInt32.max : UInt32(offset))
            central += nameBytes
            central += extra
        }
        let centralOffset = out.count
        out += central
        if zip64 {
            let record = out.count
            out.appendLittleEndian(UInt32(0x0606_4B50))
            out.appendLittleEndian(UInt64(44))
            out.appendLittleEndian(UInt16(45))
            out.appendLittleEndian(UInt16(45))
            out.appendLittleEndian(UInt32(0))
            out.appendLittleEndian(UInt32(0))
            out.appendLittleEndian(UInt64(entries.count))
            out.appendLittleEndian(UInt64(entries.count))
            out.appendLittleEndian(UInt64(central.count))
            out.appendLittleEndian(UInt64(centralOffset))
            out.appendLittleEndian(UInt32(0x0706_4B50))
            out.appendLittleEndian(UInt32(0))
            out.appendLittleEndian(UInt64(record))
            out.appendLittleEndian(UInt32(1))
        }
        out.appendLittleEndian(UInt32(0x0605_4B50))
        out.appendLittleEndian(UInt16(0))
        out.appendLittleEndian(UInt16(0))
        out.appendLittleEndian(zip64 ? UInt16.max : UInt16(entries.count))
        out.appendLittleEndian(zip64 ? UInt16.max : UInt16(entries.count))
        out.appendLittleEndian(zip64 ? UInt32.max : UInt32(central.count))
        out.appendLittleEndian(zip64 ? UInt32.max : UInt32(centralOffset))
        out.appendLittleEndian(UInt16(0))
        return out
    }
}

/// A `torch.save`-shaped archive: `<root>/data.pkl`, `<root>/data/<key>`, byteorder, version.
func torchArchive(
    pickle: [UInt8], storages: [String: [UInt8]], root: String = "archive", byteorder: String = "little",
    zip64: Bool = false, method: UInt16 = 0
) -> [UInt8] {
    var zip = ZipWriter(method: method, zip64: zip64)
    zip.add("\(root)/data.pkl", pickle)
    zip.add("\(root)/byteorder", Array(byteorder.utf8))
    for key in storages.keys.sorted() { zip.add("\(root)/data/\(key)", storages[key] ?? []) }
    zip.add("\(root)/version", Array("3\n".utf8))
    return zip.bytes()
}

/// Little-endian Float32 bytes.
func float32Bytes(_ values: [Float]) -> [UInt8] {
    var out = [UInt8]()
    for v in values { out.appendLittleEndian(v.bitPattern) }
    return out
}

/// Whether `python3` runs and can import every module named.
func pythonHas(_ modules: String...) -> Bool {
    (try? runPython("import " + (["sys"] + modules).joined(separator: ", "), arguments: []))?.status == 0
}

/// Runs a Python script with arguments; returns exit status and standard output.
func runPython(_ script: String, arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
