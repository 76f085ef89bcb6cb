internal import CHDF5

/// Common base of ``Group`` and ``Dataset``: a named object in a file that carries attributes.
public class Object {
    let handle: Handle
    var id: hid_t { handle.id }
    /// Path of the file that holds this object.
    public let filePath: String
    /// Absolute path of the object inside its file, e.g. `/sharp`.
    public let path: String

    init(handle: Handle, filePath: String, path: String) {
        self.handle = handle
        self.filePath = filePath
        self.path = path
    }

    /// `file:/path`, used in error messages.
    var where_: String { "\(filePath):\(path)" }

    func childPath(_ name: String) -> String {
        path == "/" ? "/\(name)" : "\(path)/\(name)"
    }

    /// Whether the object has an attribute called `name` (`H5Aexists`).
    public func hasAttribute(_ name: String) throws(HDF5Error) -> Bool {
        Library.prepare()
        return try Library.check(H5Aexists(id, name), "check attribute '\(name)'", where_) > 0
    }

    /// Names of all attributes, in creation-independent (name) order.
    public func attributeNames() throws(HDF5Error) -> [String] {
        Library.prepare()
        var info = H5O_info_t()
        try Library.check(H5Oget_info2(id, &info, UInt32(H5O_INFO_NUM_ATTRS)), "get object info", where_)
        var names: [String] = []
        for index in 0..<info.num_attrs {
            let length = H5Aget_name_by_idx(
                id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, chdf5_p_default())
            try Library.check(length, "get attribute name", where_)
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Aget_name_by_idx(
                id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, chdf5_p_default())
            names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// Writes (or replaces) attribute `name`.
    ///
    /// Strings are stored as variable-length UTF-8 unless `.fixedString` is used.
    /// - Throws: ``HDF5Error`` naming the attribute and object.
    public func setAttribute(_ name: String, _ value: AttributeValue) throws(HDF5Error) {
        Library.prepare()
        if try hasAttribute(name) {
            try Library.check(H5Adelete(id, name), "delete attribute '\(name)'", where_)
        }
        let op = "write attribute '\(name)'"
        switch value {
        case .int64(let v):
            try write(name, op, type: chdf5_t_std_i64le(), memType: chdf5_t_native_int64(), space: .scalar()) {
                attr, mem in withUnsafePointer(to: v) { H5Awrite(attr, mem, $0) }
            }
        case .double(let v):
            try write(name, op, type: chdf5_t_ieee_f64le(), memType: chdf5_t_native_double(), space: .scalar()) {
                attr, mem in withUnsafePointer(to: v) { H5Awrite(attr, mem, $0) }
            }
        case .int64Array(let values):
            try write(
                name, op, type: chdf5_t_std_i64le(), memType: chdf5_t_native_int64(),
                space: Dataspace(shape: [values.count])
            ) { attr, mem in
                values.withUnsafeBufferPointer { H5Awrite(attr, mem, $0.baseAddress) }
            }
        case .doubleArray(let values):
            try write(
                name, op, type: chdf5_t_ieee_f64le(), memType: chdf5_t_native_double(),
                space: Dataspace(shape: [values.count])
            ) { attr, mem in
                values.withUnsafeBufferPointer { H5Awrite(attr, mem, $0.baseAddress) }
            }
        case .string(let s):
            let type = try Datatype.variableString()
            try write(name, op, type: type.id, memType: type.id, space: .scalar()) { attr, mem in
                s.withCString { cstr in
                    var pointer: UnsafePointer<CChar>? = cstr
                    return H5Awrite(attr, mem, &pointer)
                }
            }
        case .fixedString(let s):
            let bytes = Array(s.utf8)
            let type = try Datatype.fixedString(length: bytes.count)
            try write(name, op, type: type.id, memType: type.id, space: .scalar()) { attr, mem in
                let padded = bytes.isEmpty ? [UInt8(0)] : bytes
                return padded.withUnsafeBufferPointer { H5Awrite(attr, mem, $0.baseAddress) }
            }
        }
    }

    private func write(
        _ name: String, _ op: String, type: hid_t, memType: hid_t, space: Dataspace,
        body: (hid_t, hid_t) -> herr_t
    ) throws(HDF5Error) {
        let attr = Attribute(
            handle: Handle(
                try Library.check(
                    H5Acreate2(id, name, type, space.id, chdf5_p_default(), chdf5_p_default()), op, where_),
                closer: H5Aclose), name: name, owner: where_)
        try Library.check(body(attr.id, memType), op, where_)
        try Library.check(attr.handle.close(), op, where_)
    }

    /// Opens attribute `name`.
    public func openAttribute(_ name: String) throws(HDF5Error) -> Attribute {
        Library.prepare()
        let aid = try Library.check(
            H5Aopen(id, name, chdf5_p_default()), "open attribute '\(name)'", where_)
        return Attribute(handle: Handle(aid, closer: H5Aclose), name: name, owner: where_)
    }

    /// Reads attribute `name`: integers as `.int64`, floats as `.double`, strings (fixed or
    /// variable) as `.string`, 1-D numeric arrays as `.int64Array` / `.doubleArray`.
    public func attribute(_ name: String) throws(HDF5Error) -> AttributeValue {
        try openAttribute(name).read()
    }
}

/// A value stored in an attribute.
public enum AttributeValue: Equatable, Sendable {
    /// A scalar 64-bit integer.
    case int64(Int64)
    /// A scalar double.
    case double(Double)
    /// A variable-length UTF-8 string.
    case string(String)
    /// A fixed-length UTF-8 string (null padded); read back as `.string`.
    case fixedString(String)
    /// A 1-D array of 64-bit integers.
    case int64Array([Int64])
    /// A 1-D array of doubles.
    case doubleArray([Double])

    /// The text of a string value, else nil.
    public var stringValue: String? {
        switch self {
        case .string(let s), .fixedString(let s): s
        default: nil
        }
    }
}

/// An open attribute handle (`H5A`).
public final class Attribute {
    let handle: Handle
    var id: hid_t { handle.id }
    /// The attribute's name.
    public let name: String
    let owner: String

    init(handle: Handle, name: String, owner: String) {
        self.handle = handle
        self.name = name
        self.owner = owner
    }

    /// Reads the value (see ``Object/attribute(_:)``).
    public func read() throws(HDF5Error) -> AttributeValue {
        Library.prepare()
        let op = "read attribute '\(name)'"
        let type = Datatype(owning: try Library.check(H5Aget_type(id), op, owner))
        let space = Dataspace(owning: try Library.check(H5Aget_space(id), op, owner))
        let count = space.count
        let cls = H5Tget_class(type.id)
        if cls == H5T_STRING {
            if H5Tis_variable_str(type.id) > 0 {
                var pointer: UnsafeMutablePointer<CChar>? = nil
                let memType = try Datatype.variableString()
                try Library.check(H5Aread(id, memType.id, &pointer), op, owner)
                defer { if let pointer { H5free_memory(pointer) } }
                return .string(pointer.map { String(cString: $0) } ?? "")
            }
            let size = type.size
            var buffer = [UInt8](repeating: 0, count: size * max(1, count))
            try Library.check(H5Aread(id, type.id, &buffer), op, owner)
            let bytes = buffer.prefix(size).prefix { $0 != 0 }
            return .string(String(decoding: bytes, as: UTF8.self))
        }
        if cls == H5T_INTEGER {
            var values = [Int64](repeating: 0, count: count)
            try Library.check(H5Aread(id, chdf5_t_native_int64(), &values), op, owner)
            return space.shape.isEmpty ? .int64(values[0]) : .int64Array(values)
        }
        if cls == H5T_FLOAT {
            var values = [Double](repeating: 0, count: count)
            try Library.check(H5Aread(id, chdf5_t_native_double(), &values), op, owner)
            return space.shape.isEmpty ? .double(values[0]) : .doubleArray(values)
        }
        throw HDF5Error(operation: op, object: owner, message: "unsupported attribute type class \(cls.rawValue)")
    }

    /// Closes the attribute now (otherwise `deinit` does).
    public func close() { _ = handle.close() }
}
