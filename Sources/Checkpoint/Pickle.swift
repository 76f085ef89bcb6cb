/// A value produced by the restricted pickle machine.
///
/// Lists and dicts are reference types because pickle mutates them in place after they
/// have been memoised (`EMPTY_DICT`, `BINPUT`, ..., `SETITEMS`).
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(PickleGlobal)
    case storage(PickleStorage)
    case tensor(StoredTensor)

    /// A short description of the kind of value, for error messages.
    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global(let g): "global \(g)"
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}

extension PickleValue {
    /// How deeply containers nest inside this value (0 for a scalar). Values deeper than
    /// the unpickler's limit are refused as they are built, so this recursion stays shallow.
    var nesting: Int {
        switch self {
        case .tuple(let items): 1 + (items.map(\.nesting).max() ?? 0)
        case .list(let l): l.depth
        case .dict(let d): d.depth
        default: 0
        }
    }
}

/// A mutable pickle list.
final class PickleList {
    var items: [PickleValue] = []
    /// Container nesting of this list (1 + its deepest item's).
    var depth = 1
}

/// A mutable pickle dict that keeps insertion order (like `collections.OrderedDict`).
final class PickleDict {
    var keys: [PickleValue] = []
    var values: [PickleValue] = []
    /// Position of string keys, so re-assignment replaces in place.
    var stringIndex: [String: Int] = [:]
    /// Container nesting of this dict (1 + its deepest key's or value's).
    var depth = 1

    func set(_ key: PickleValue, _ value: PickleValue) {
        depth = max(depth, 1 + key.nesting, 1 + value.nesting)
        if case .string(let s) = key, let i = stringIndex[s] {
            values[i] = value
            return
        }
        if case .string(let s) = key { stringIndex[s] = keys.count }
        keys.append(key)
        values.append(value)
    }
}

/// A tensor storage referenced by a persistent id: its element type and its bytes.
final class PickleStorage {
    let dtype: DType
    let key: String
    let data: ArraySlice<UInt8>
    init(dtype: DType, key: String, data: ArraySlice<UInt8>) {
        self.dtype = dtype
        self.key = key
        self.data = data
    }
}

/// The only globals a state-dict pickle may name.
enum PickleGlobal: CustomStringConvertible {
    /// `collections.OrderedDict`
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2`
    case rebuildTensorV2
    /// `torch._utils._rebuild_parameter`
    case rebuildParameter
    /// `torch.<Type>Storage`, a legacy typed storage class naming the element type.
    case storageType(DType, name: String)

    var description: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .storageType(_, let name): "torch.\(name)"
        }
    }

    static let storageTypes: [String: DType] = [
        "FloatStorage": .float32, "DoubleStorage": .float64, "HalfStorage": .float16,
        "BFloat16Storage": .bfloat16, "LongStorage": .int64, "IntStorage": .int32,
        "ShortStorage": .int16, "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
    ]

    /// Resolves `module.name` against the allow list.
    /// - Throws: ``CheckpointError/refusedGlobal(file:global:)`` for anything else, and
    ///   ``CheckpointError/unsupportedDType(file:tensor:dtype:)`` for storage classes of
    ///   element types this module does not handle (complex, quantised).
    static func resolve(module: String, name: String, file: String) throws(CheckpointError) -> PickleGlobal {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch", _) where name.hasSuffix("Storage") && name.first?.isUppercase == true:
            guard let dtype = storageTypes[name] else {
                throw .unsupportedDType(file: file, tensor: "(storage)", dtype: "torch.\(name)")
            }
            return .storageType(dtype, name: name)
        default:
            break
        }
        throw .refusedGlobal(file: file, global: "\(module).\(name)")
    }
}

/// A pickle interpreter that understands exactly what a PyTorch state dict needs.
///
/// It never imports or calls anything named by the file: `GLOBAL`/`STACK_GLOBAL` resolve
/// against ``PickleGlobal``'s allow list, `REDUCE` only applies those, and persistent ids
/// are resolved through `loadStorage`. Opcodes outside protocols 2–5's data subset
/// (`INST`, `OBJ`, `NEWOBJ`, extension registry, ...) are refused.
struct PickleMachine {
    let bytes: ArraySlice<UInt8>
    let file: String
    /// Resolves a persistent id `('storage', type, key, location, numel)` to a storage.
    let loadStorage: (_ dtype: DType, _ key: String, _ numel: Int) throws(CheckpointError) -> PickleStorage

    private var position: Int
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var opcodeStart = 0

    init(
        bytes: ArraySlice<UInt8>, file: String,
        loadStorage: @escaping (DType, String, Int) throws(CheckpointError) -> PickleStorage
    ) {
        self.bytes = bytes
        self.file = file
        self.loadStorage = loadStorage
        self.position = bytes.startIndex
    }

    /// Runs the program to `STOP` and returns the value it leaves.
    mutating func run() throws(CheckpointError) -> PickleValue {
        while true {
            opcodeStart = position - bytes.startIndex
            let op = try readByte()
            switch op {
            case 0x80:  // PROTO
                let version = try readByte()
                guard version <= 5 else { throw fail("unsupported pickle protocol \(version)") }
            case 0x95:  // FRAME: framing is only a hint for buffered readers.
                _ = try readInteger(8)
            case 0x2E:  // STOP
                guard stack.count == 1, let value = stack.popLast() else {
                    throw fail("STOP with \(stack.count) values on the stack, expected 1")
                }
                return value
            case 0x28:  // MARK
                marks.append(stack.count)
            case 0x7D:  // EMPTY_DICT
                stack.append(.dict(PickleDict()))
            case 0x5D:  // EMPTY_LIST
                stack.append(.list(PickleList()))
            case 0x29:  // EMPTY_TUPLE
                stack.append(.tuple([]))
            case 0x4E:  // NONE
                stack.append(.none)
            case 0x88:  // NEWTRUE
                stack.append(.bool(true))
            case 0x89:  // NEWFALSE
                stack.append(.bool(false))
            case 0x4B:  // BININT1
                stack.append(.int(Int64(try readByte())))
            case 0x4D:  // BININT2
                stack.append(.int(Int64(try readInteger(2))))
            case 0x4A:  // BININT
                stack.append(.int(Int64(Int32(truncatingIfNeeded: try readInteger(4)))))
            case 0x8A:  // LONG1
                stack.append(.int(try readLong(count: Int(try readByte()))))
            case 0x8B:  // LONG4
                stack.append(.int(try readLong(count: try readLength(4))))
            case 0x47:  // BINFLOAT: big-endian IEEE double
                var bits: UInt64 = 0
                for _ in 0..<8 { bits = bits << 8 | UInt64(try readByte()) }
                stack.append(.float(Double(bitPattern: bits)))
            case 0x58:  // BINUNICODE
                stack.append(.string(try readString(count: try readLength(4))))
            case 0x8C:  // SHORT_BINUNICODE
                stack.append(.string(try readString(count: Int(try readByte()))))
            case 0x8D:  // BINUNICODE8
                stack.append(.string(try readString(count: try readLength(8))))
            case 0x43:  // SHORT_BINBYTES
                stack.append(.bytes(Array(try readBytes(count: Int(try readByte())))))
            case 0x42:  // BINBYTES
                stack.append(.bytes(Array(try readBytes(count: try readLength(4)))))
            case 0x8E:  // BINBYTES8
                stack.append(.bytes(Array(try readBytes(count: try readLength(8)))))
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                let n = Int(op - 0x84)
                guard stack.count - (marks.last ?? 0) >= n else { throw fail("TUPLE\(n) on a short stack") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                stack.append(try limited(.tuple(items)))
            case 0x74:  // TUPLE
                stack.append(try limited(.tuple(try popToMark())))
            case 0x30:  // POP
                guard stack.count > (marks.last ?? 0) else { throw fail("POP on an empty stack") }
                stack.removeLast()
            case 0x31:  // POP_MARK
                _ = try popToMark()
            case 0x32:  // DUP
                guard let top = stack.last else { throw fail("DUP on an empty stack") }
                stack.append(top)
            case 0x71:  // BINPUT
                try memoize(Int(try readByte()))
            case 0x72:  // LONG_BINPUT
                try memoize(Int(try readInteger(4)))
            case 0x94:  // MEMOIZE
                try memoize(memo.count)
            case 0x68:  // BINGET
                try recall(Int(try readByte()))
            case 0x6A:  // LONG_BINGET
                try recall(Int(try readInteger(4)))
            case 0x63:  // GLOBAL: "module\nname\n"
                let module = try readLine()
                let name = try readLine()
                stack.append(.global(try PickleGlobal.resolve(module: module, name: name, file: file)))
            case 0x93:  // STACK_GLOBAL
                let name = try pop()
                let module = try pop()
                guard case .string(let m) = module, case .string(let n) = name else {
                    throw fail("STACK_GLOBAL needs two strings, got \(module.kind) and \(name.kind)")
                }
                stack.append(.global(try PickleGlobal.resolve(module: m, name: n, file: file)))
            case 0x52:  // REDUCE
                let args = try pop()
                let callable = try pop()
                stack.append(try reduce(callable, args))
            case 0x62:  // BUILD
                let state = try pop()
                let object = try pop()
                try build(object, state)
                stack.append(object)
            case 0x51:  // BINPERSID
                stack.append(try persistentLoad(try pop()))
            case 0x73:  // SETITEM
                let value = try pop()
                let key = try pop()
                guard case .dict(let d) = try top() else { throw fail("SETITEM on a \(try top().kind)") }
                d.set(key, value)
                _ = try limited(.dict(d))
            case 0x75:  // SETITEMS
                let items = try popToMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
                guard case .dict(let d) = try top() else { throw fail("SETITEMS on a \(try top().kind)") }
                for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
                _ = try limited(.dict(d))
            case 0x61:  // APPEND
                let value = try pop()
                guard case .list(let l) = try top() else { throw fail("APPEND on a \(try top().kind)") }
                l.items.append(value)
                l.depth = max(l.depth, 1 + value.nesting)
                _ = try limited(.list(l))
            case 0x65:  // APPENDS
                let items = try popToMark()
                guard case .list(let l) = try top() else { throw fail("APPENDS on a \(try top().kind)") }
                l.items.append(contentsOf: items)
                l.depth = max(l.depth, 1 + (items.map(\.nesting).max() ?? 0))
                _ = try limited(.list(l))
            default:
                throw fail("unsupported opcode 0x\(String(op, radix: 16)) (not used by state dicts)")
            }
        }
    }

    // MARK: semantics

    private func reduce(_ callable: PickleValue, _ args: PickleValue) throws(CheckpointError) -> PickleValue {
        guard case .global(let global) = callable else { throw fail("REDUCE on a \(callable.kind), not a callable") }
        guard case .tuple(let a) = args else { throw fail("REDUCE arguments are a \(args.kind), not a tuple") }
        switch global {
        case .orderedDict:
            guard a.isEmpty else { throw fail("collections.OrderedDict called with arguments") }
            return .dict(PickleDict())
        case .rebuildTensorV2:
            return .tensor(try rebuildTensor(a))
        case .rebuildParameter:
            // (data, requires_grad, backward_hooks): the parameter is its data.
            guard a.count >= 1, case .tensor(let t) = a[0] else {
                throw fail("torch._utils._rebuild_parameter needs a tensor argument")
            }
            return .tensor(t)
        case .storageType:
            throw fail("\(global) called directly; storages must come from persistent ids")
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
    /// backward_hooks[, metadata])`: views storage elements, copied out contiguously.
    private func rebuildTensor(_ a: [PickleValue]) throws(CheckpointError) -> StoredTensor {
        guard a.count == 6 || a.count == 7 else {
            throw fail("_rebuild_tensor_v2 takes 6 or 7 arguments, got \(a.count)")
        }
        guard case .storage(let storage) = a[0] else { throw fail("_rebuild_tensor_v2 storage is a \(a[0].kind)") }
        guard case .int(let offset64) = a[1], offset64 >= 0, let offset = Int(exactly: offset64) else {
            throw fail("_rebuild_tensor_v2 storage offset is not a non-negative int")
        }
        let shape = try intTuple(a[2], what: "size")
        let strides = try intTuple(a[3], what: "stride")
        guard shape.count == strides.count else {
            throw fail("_rebuild_tensor_v2 size \(shape) and stride \(strides) differ in rank")
        }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw fail("_rebuild_tensor_v2 negative size \(shape) or stride \(strides)")
        }
        let size = storage.dtype.byteSize
        let available = storage.data.count / size
        var count = 1
        var lastIndex = offset
        for (d, s) in zip(shape, strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: d)
            let (span, o2) = (d == 0 ? 0 : d - 1).multipliedReportingOverflow(by: s)
            let (l, o3) = lastIndex.addingReportingOverflow(span)
            guard !o1, !o2, !o3 else { throw fail("_rebuild_tensor_v2 size \(shape) overflows") }
            count = c
            lastIndex = l
        }
        if count == 0 { return StoredTensor(dtype: storage.dtype, shape: shape, data: []) }
        guard lastIndex < available else {
            throw fail(
                "tensor of size \(shape), stride \(strides), offset \(offset) reaches element \(lastIndex) "
                    + "of storage '\(storage.key)' holding \(available)")
        }
        let base = storage.data.startIndex
        // Contiguous (row-major) strides: one slice.
        var expected = 1
        var contiguous = true
        for (d, s) in zip(shape, strides).reversed() where d != 1 {
            if s != expected { contiguous = false }
            expected *= d
        }
        if contiguous {
            let start = base + offset * size
            return StoredTensor(
                dtype: storage.dtype, shape: shape, data: Array(storage.data[start..<(start + count * size)]))
        }
        // General strides: walk the index space in row-major order.
        var out = [UInt8]()
        out.reserveCapacity(count * size)
        var index = [Int](repeating: 0, count: shape.count)
        var element = offset
        for _ in 0..<count {
            let start = base + element * size
            out.append(contentsOf: storage.data[start..<(start + size)])
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                element += strides[axis]
                if index[axis] < shape[axis] { break }
                element -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return StoredTensor(dtype: storage.dtype, shape: shape, data: out)
    }

    private func intTuple(_ value: PickleValue, what: String) throws(CheckpointError) -> [Int] {
        guard case .tuple(let items) = value else { throw fail("_rebuild_tensor_v2 \(what) is a \(value.kind)") }
        var out = [Int]()
        for item in items {
            guard case .int(let v) = item, let i = Int(exactly: v) else {
                throw fail("_rebuild_tensor_v2 \(what) holds a \(item.kind)")
            }
            out.append(i)
        }
        return out
    }

    private func build(_ object: PickleValue, _ state: PickleValue) throws(CheckpointError) {
        switch object {
        case .dict:
            // OrderedDict state: torch stores the `_metadata` attribute (module versions)
            // here. It carries no tensors, so it is dropped.
            return
        case .tensor:
            return
        default:
            throw fail("BUILD on a \(object.kind)")
        }
    }

    private func persistentLoad(_ pid: PickleValue) throws(CheckpointError) -> PickleValue {
        guard case .tuple(let t) = pid, t.count == 5, case .string("storage") = t[0] else {
            throw fail("persistent id is not ('storage', type, key, location, numel)")
        }
        guard case .global(.storageType(let dtype, _)) = t[1] else {
            throw fail("persistent id storage type is a \(t[1].kind)")
        }
        guard case .string(let key) = t[2] else { throw fail("persistent id key is a \(t[2].kind)") }
        guard case .int(let numel64) = t[4], numel64 >= 0, let numel = Int(exactly: numel64) else {
            throw fail("persistent id element count is not a non-negative int")
        }
        return .storage(try loadStorage(dtype, key, numel))
    }

    // MARK: stack and memo

    private mutating func pop() throws(CheckpointError) -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.popLast() else {
            throw fail("stack underflow")
        }
        return value
    }

    private func top() throws(CheckpointError) -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.last else { throw fail("stack underflow") }
        return value
    }

    private mutating func popToMark() throws(CheckpointError) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("no MARK on the stack") }
        let items = Array(stack[mark...])
        stack.removeLast(stack.count - mark)
        return items
    }

    private mutating func memoize(_ index: Int) throws(CheckpointError) {
        guard let value = stack.last else { throw fail("memoizing from an empty stack") }
        memo[index] = value
    }

    private mutating func recall(_ index: Int) throws(CheckpointError) {
        guard let value = memo[index] else { throw fail("memo entry \(index) was never stored") }
        stack.append(value)
    }

    // MARK: reading

    /// Containers nested deeper than this are refused (state dicts nest a few levels; a file
    /// of thousands of nested lists would overflow the stack when freed).
    static let maximumNesting = 100

    private func limited(_ value: PickleValue) throws(CheckpointError) -> PickleValue {
        guard value.nesting <= Self.maximumNesting else {
            throw fail("containers nested deeper than \(Self.maximumNesting) levels")
        }
        return value
    }

    private func fail(_ reason: String) -> CheckpointError {
        .malformedPickle(file: file, offset: opcodeStart, reason: reason)
    }

    private mutating func readByte() throws(CheckpointError) -> UInt8 {
        guard position < bytes.endIndex else { throw fail("pickle ends without STOP") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func readBytes(count: Int) throws(CheckpointError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.endIndex - position else { throw fail("pickle ends inside an argument") }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    /// A little-endian unsigned integer of `count` bytes.
    private mutating func readInteger(_ count: Int) throws(CheckpointError) -> UInt64 {
        let raw = try readBytes(count: count)
        return raw.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private mutating func readLength(_ count: Int) throws(CheckpointError) -> Int {
        let v = try readInteger(count)
        guard let n = Int(exactly: v), n <= bytes.endIndex - position else {
            throw fail("length \(v) runs past the end of the pickle")
        }
        return n
    }

    /// A little-endian two's-complement integer (`LONG1`/`LONG4`) that fits in Int64.
    private mutating func readLong(count: Int) throws(CheckpointError) -> Int64 {
        let raw = try readBytes(count: count)
        guard count <= 8 else {
            // Wider encodings are fine if they are just sign extension.
            let extra = raw.dropFirst(8)
            let sign: UInt8 = (raw[raw.startIndex + 7] & 0x80) != 0 ? 0xFF : 0
            guard extra.allSatisfy({ $0 == sign }) else { throw fail("integer wider than 64 bits") }
            return try longValue(raw.prefix(8))
        }
        return try longValue(raw)
    }

    private func longValue(_ raw: ArraySlice<UInt8>) throws(CheckpointError) -> Int64 {
        if raw.isEmpty { return 0 }
        var v: UInt64 = 0
        for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        if raw.count < 8, let last = raw.last, last & 0x80 != 0 {
            v |= ~UInt64(0) << (8 * UInt64(raw.count))
        }
        return Int64(bitPattern: v)
    }

    private mutating func readString(count: Int) throws(CheckpointError) -> String {
        let raw = try readBytes(count: count)
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }

    private mutating func readLine() throws(CheckpointError) -> String {
        guard let newline = bytes[position...].firstIndex(of: 0x0A) else { throw fail("GLOBAL name without newline") }
        let raw = bytes[position..<newline]
        position = newline + 1
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail("GLOBAL name is not valid UTF-8") }
        return s
    }
}
