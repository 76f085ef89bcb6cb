import Foundation

/// Reads PyTorch checkpoints written by `torch.save` (the zip format of PyTorch >= 1.6)
/// without executing anything from the file.
///
/// The pickle inside is interpreted by a small machine that knows exactly what a state dict
/// needs (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
/// `torch._utils._rebuild_parameter`, the typed storages) and refuses every other global,
/// naming it.
public enum TorchCheckpoint {
    /// Reads a `.pth` file.
    /// - Throws: ``CheckpointError``.
    public static func read(contentsOf url: URL) throws(CheckpointError) -> StateDict {
        try read(bytes: StateDict.readFile(url), name: url.lastPathComponent)
    }

    /// Parses `.pth` bytes; `name` labels errors.
    public static func read(bytes: [UInt8], name: String) throws(CheckpointError) -> StateDict {
        let zip = try ZipArchive(bytes: bytes, name: name)
        guard let pkl = zip.entries.values.first(where: { $0.name.hasSuffix("/data.pkl") || $0.name == "data.pkl" }) else {
            throw CheckpointError(file: name, problem: "no data.pkl in the archive: not a torch.save checkpoint")
        }
        let prefix = String(pkl.name.dropLast("data.pkl".count))
        var machine = Unpickler(bytes: Array(zip.data(of: pkl)), name: name)
        let root = try machine.run()
        var storages: [String: StorageBytes] = [:]
        for ref in machine.storageRefs {
            guard let entry = zip.entries[prefix + "data/" + ref.key] else {
                throw CheckpointError(file: name, problem: "storage '\(ref.key)' is missing from the archive")
            }
            let data = zip.data(of: entry)
            guard data.count >= ref.elementCount * ref.dtype.size else {
                throw CheckpointError(file: name, problem: "storage '\(ref.key)' holds \(data.count) bytes, expected \(ref.elementCount * ref.dtype.size)")
            }
            storages[ref.key] = StorageBytes(dtype: ref.dtype, bytes: data)
        }
        let (dictValue, _) = try unwrap(root, name: name)
        guard case .dict(let items) = dictValue else {
            throw CheckpointError(file: name, problem: "the pickled object is not a state dict")
        }
        var out = StateDict()
        for (key, value) in items {
            guard case .string(let k) = key else { continue }
            guard case .tensor(let spec) = value else { continue }
            out.tensors[k] = try materialise(spec, storages: storages, name: name, key: k)
        }
        return out
    }

    /// Accepts a bare state dict or a dict wrapping one under a common key.
    static func unwrap(_ root: PickleValue, name: String) throws(CheckpointError) -> (PickleValue, String?) {
        guard case .dict(let items) = root else { return (root, nil) }
        if items.contains(where: { if case .tensor = $0.1 { return true } else { return false } }) { return (root, nil) }
        for wrapper in ["state_dict", "params", "model", "net", "params_ema"] {
            if let inner = items.first(where: { if case .string(wrapper) = $0.0 { return true } else { return false } })?.1,
               case .dict = inner {
                return (inner, wrapper)
            }
        }
        return (root, nil)
    }

    struct StorageBytes {
        var dtype: DType
        var bytes: ArraySlice<UInt8>
    }

    static func materialise(_ t: TensorSpec, storages: [String: StorageBytes], name: String, key: String) throws(CheckpointError) -> StoredTensor {
        guard let storage = storages[t.storageKey] else {
            throw CheckpointError(file: name, problem: "tensor '\(key)' refers to unknown storage '\(t.storageKey)'")
        }
        let es = storage.dtype.size
        let count = t.shape.reduce(1, *)
        var out = [UInt8](repeating: 0, count: count * es)
        let base = storage.bytes.startIndex
        let available = storage.bytes.count / es
        // Copy element by element following the strides (handles views and offsets).
        var index = [Int](repeating: 0, count: t.shape.count)
        for linear in 0..<count {
            var src = t.offset
            for d in 0..<t.shape.count { src += index[d] * t.stride[d] }
            guard src >= 0, src < available else {
                throw CheckpointError(file: name, problem: "tensor '\(key)' reads past its storage")
            }
            for b in 0..<es { out[linear * es + b] = storage.bytes[base + src * es + b] }
            var d = t.shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < t.shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return StoredTensor(dtype: storage.dtype, shape: t.shape, data: out)
    }
}

struct TensorSpec {
    var storageKey: String
    var offset: Int
    var shape: [Int]
    var stride: [Int]
}

struct StorageRef {
    var key: String
    var dtype: DType
    var elementCount: Int
}

indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    case dict([(PickleValue, PickleValue)])
    case global(String)
    case storage(StorageRef)
    case tensor(TensorSpec)
    case mark
}

/// The restricted unpickler: a stack machine over the opcodes a state dict uses.
struct Unpickler {
    let bytes: [UInt8]
    let name: String
    var pos = 0
    var stack: [PickleValue] = []
    var memo: [Int: PickleValue] = [:]
    var storageRefs: [StorageRef] = []

    static let storageTypes: [String: DType] = [
        "torch.FloatStorage": .float32, "torch.HalfStorage": .float16, "torch.BFloat16Storage": .bfloat16,
        "torch.DoubleStorage": .float64, "torch.LongStorage": .int64, "torch.IntStorage": .int32,
        "torch.ByteStorage": .uint8, "torch.CharStorage": .int8, "torch.BoolStorage": .bool,
    ]
    static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
    ]

    init(bytes: [UInt8], name: String) {
        self.bytes = bytes
        self.name = name
    }

    func fail(_ problem: String) -> CheckpointError { CheckpointError(file: name, problem: problem) }

    mutating func take(_ n: Int) throws(CheckpointError) -> ArraySlice<UInt8> {
        guard n >= 0, pos + n <= bytes.count else { throw fail("pickle data ends unexpectedly (truncated)") }
        defer { pos += n }
        return bytes[pos..<(pos + n)]
    }

    mutating func uint(_ n: Int) throws(CheckpointError) -> Int {
        let s = try take(n)
        var v = 0
        for (i, b) in s.enumerated() { v |= Int(b) << (8 * i) }
        return v
    }

    mutating func line() throws(CheckpointError) -> String {
        guard let end = bytes[pos...].firstIndex(of: 0x0A) else { throw fail("pickle data ends unexpectedly (truncated)") }
        defer { pos = end + 1 }
        return String(decoding: bytes[pos..<end], as: UTF8.self)
    }

    mutating func pop() throws(CheckpointError) -> PickleValue {
        guard let v = stack.popLast() else { throw fail("malformed pickle (stack underflow)") }
        return v
    }

    mutating func popMark() throws(CheckpointError) -> [PickleValue] {
        guard let m = stack.lastIndex(where: { if case .mark = $0 { return true } else { return false } }) else {
            throw fail("malformed pickle (missing MARK)")
        }
        let items = Array(stack[(m + 1)...])
        stack.removeSubrange(m...)
        return items
    }

    mutating func global(_ qualified: String) throws(CheckpointError) -> PickleValue {
        guard Self.callables.contains(qualified) || Self.storageTypes[qualified] != nil else {
            throw fail("refusing pickle global '\(qualified)': only state_dict tensors are allowed")
        }
        return .global(qualified)
    }

    mutating func run() throws(CheckpointError) -> PickleValue {
        while true {
            let op = try take(1).first ?? 0
            switch op {
            case 0x80: _ = try take(1)  // PROTO
            case 0x95: _ = try take(8)  // FRAME
            case 0x2E:  // STOP
                return try pop()
            case 0x28: stack.append(.mark)
            case 0x7D: stack.append(.dict([]))
            case 0x5D: stack.append(.list([]))
            case 0x29: stack.append(.tuple([]))
            case 0x74: stack.append(.tuple(try popMark()))
            case 0x85: let a = try pop(); stack.append(.tuple([a]))
            case 0x86: let b = try pop(); let a = try pop(); stack.append(.tuple([a, b]))
            case 0x87: let c = try pop(); let b = try pop(); let a = try pop(); stack.append(.tuple([a, b, c]))
            case 0x58: stack.append(.string(String(decoding: try take(try uint(4)), as: UTF8.self)))
            case 0x8C: stack.append(.string(String(decoding: try take(try uint(1)), as: UTF8.self)))
            case 0x8D: stack.append(.string(String(decoding: try take(try uint(8)), as: UTF8.self)))
            case 0x43: stack.append(.bytes(Array(try take(try uint(1)))))
            case 0x42: stack.append(.bytes(Array(try take(try uint(4)))))
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))
            case 0x4B: stack.append(.int(try uint(1)))
            case 0x4D: stack.append(.int(try uint(2)))
            case 0x8A:  // LONG1: little-endian two's complement
                let n = try uint(1)
                let s = try take(n)
                guard n <= 8 else { throw fail("pickle integer too large") }
                var v: Int64 = 0
                for (i, b) in s.enumerated() { v |= Int64(b) << (8 * Int64(i)) }
                if n > 0 && n < 8 && (s.last ?? 0) & 0x80 != 0 { v -= Int64(1) << (8 * Int64(n)) }
                stack.append(.int(Int(v)))
            case 0x4E: stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x47:
                let s = try take(8)
                var bits: UInt64 = 0
                for b in s { bits = bits << 8 | UInt64(b) }  // big-endian
                stack.append(.float(Double(bitPattern: bits)))
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line()
                let qualified = module + "." + (try line())
                stack.append(try global(qualified))
            case 0x93:  // STACK_GLOBAL
                let n = try pop()
                let m = try pop()
                guard case .string(let module) = m, case .string(let nm) = n else { throw fail("malformed STACK_GLOBAL") }
                stack.append(try global(module + "." + nm))
            case 0x52:  // REDUCE
                let args = try pop()
                let callable = try pop()
                stack.append(try reduce(callable, args))
            case 0x62:  // BUILD: state for OrderedDict (`_metadata`) or tensors is ignored.
                _ = try pop()
            case 0x51:  // BINPERSID
                stack.append(try persistent(try pop()))
            case 0x71: memo[try uint(1)] = stack.last
            case 0x72: memo[try uint(4)] = stack.last
            case 0x94: memo[memo.count] = stack.last
            case 0x68, 0x6A:
                let key = try uint(op == 0x68 ? 1 : 4)
                guard let v = memo[key] else { throw fail("malformed pickle (unknown memo \(key))") }
                stack.append(v)
            case 0x73:
                let v = try pop()
                let k = try pop()
                try addItems([k, v])
            case 0x75: try addItems(try popMark())
            case 0x61:
                let v = try pop()
                try appendItems([v])
            case 0x65: try appendItems(try popMark())
            default:
                throw fail(String(format: "unsupported pickle opcode 0x%02x at byte %d: not a plain state_dict", op, pos - 1))
            }
        }
    }

    mutating func addItems(_ flat: [PickleValue]) throws(CheckpointError) {
        guard flat.count % 2 == 0, case .dict(var items) = try pop() else { throw fail("malformed pickle (SETITEMS on a non-dict)") }
        for i in stride(from: 0, to: flat.count, by: 2) { items.append((flat[i], flat[i + 1])) }
        stack.append(.dict(items))
    }

    mutating func appendItems(_ values: [PickleValue]) throws(CheckpointError) {
        guard case .list(var items) = try pop() else { throw fail("malformed pickle (APPENDS on a non-list)") }
        items += values
        stack.append(.list(items))
    }

    mutating func persistent(_ pid: PickleValue) throws(CheckpointError) -> PickleValue {
        guard case .tuple(let t) = pid, t.count >= 5, case .string("storage") = t[0],
              case .global(let type) = t[1], case .string(let key) = t[2], case .int(let numel) = t[4],
              let dtype = Self.storageTypes[type]
        else { throw fail("unsupported persistent id in pickle: only tensor storages are allowed") }
        let ref = StorageRef(key: key, dtype: dtype, elementCount: numel)
        storageRefs.append(ref)
        return .storage(ref)
    }

    func ints(_ v: PickleValue) -> [Int]? {
        guard case .tuple(let items) = v else { return nil }
        var out: [Int] = []
        for item in items {
            guard case .int(let i) = item else { return nil }
            out.append(i)
        }
        return out
    }

    func reduce(_ callable: PickleValue, _ args: PickleValue) throws(CheckpointError) -> PickleValue {
        guard case .global(let fn) = callable, case .tuple(let a) = args else { throw fail("malformed REDUCE in pickle") }
        switch fn {
        case "collections.OrderedDict":
            return .dict([])
        case "torch._utils._rebuild_tensor_v2":
            guard a.count >= 4, case .storage(let s) = a[0], case .int(let offset) = a[1],
                  let shape = ints(a[2]), let stride = ints(a[3]), shape.count == stride.count
            else { throw fail("malformed tensor record in pickle") }
            return .tensor(TensorSpec(storageKey: s.key, offset: offset, shape: shape, stride: stride))
        case "torch._utils._rebuild_parameter":
            guard let first = a.first, case .tensor = first else { throw fail("malformed parameter record in pickle") }
            return first
        default:
            throw fail("refusing to call pickle global '\(fn)'")
        }
    }
}
