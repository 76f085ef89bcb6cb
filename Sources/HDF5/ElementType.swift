internal import CHDF5

/// Element types of datasets this module creates and reads.
public enum ElementType: String, Sendable, CaseIterable {
    /// Unsigned 8-bit integer (`H5T_STD_U8LE`).
    case uint8
    /// Unsigned 16-bit integer (`H5T_STD_U16LE`).
    case uint16
    /// Signed 64-bit integer (`H5T_STD_I64LE`).
    case int64
    /// IEEE half precision, little endian (built from `H5T_IEEE_F32LE`; numpy's `float16`).
    case float16
    /// IEEE single precision, little endian (`H5T_IEEE_F32LE`).
    case float32
    /// IEEE double precision, little endian (`H5T_IEEE_F64LE`).
    case float64

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .uint8: 1
        case .uint16, .float16: 2
        case .float32: 4
        case .int64, .float64: 8
        }
    }
}

/// An HDF5 datatype handle (`H5T`).
public final class Datatype {
    let handle: Handle
    var id: hid_t { handle.id }

    init(owning id: hid_t) {
        handle = Handle(id, closer: H5Tclose)
    }

    /// A new datatype for `type`, stored little endian.
    ///
    /// - Throws: ``HDF5Error`` when HDF5 refuses the type.
    public init(_ type: ElementType) throws(HDF5Error) {
        Library.prepare()
        let base: hid_t
        switch type {
        case .uint8: base = chdf5_t_std_u8le()
        case .uint16: base = chdf5_t_std_u16le()
        case .int64: base = chdf5_t_std_i64le()
        case .float16, .float32: base = chdf5_t_ieee_f32le()
        case .float64: base = chdf5_t_ieee_f64le()
        }
        let id = try Library.check(H5Tcopy(base), "copy datatype", type.rawValue)
        handle = Handle(id, closer: H5Tclose)
        if type == .float16 {
            // HDF5 1.10 has no predefined half type: shrink an IEEE single to sign bit 15,
            // 5 exponent bits at 10, 10 mantissa bits at 0, bias 15 (what numpy/h5py use).
            try Library.check(H5Tset_fields(id, 15, 10, 5, 0, 10), "set float16 fields", "float16")
            try Library.check(H5Tset_size(id, 2), "set float16 size", "float16")
            try Library.check(H5Tset_ebias(id, 15), "set float16 bias", "float16")
        }
    }

    /// A variable-length UTF-8 string type.
    public static func variableString() throws(HDF5Error) -> Datatype {
        Library.prepare()
        let id = try Library.check(H5Tcopy(chdf5_t_c_s1()), "copy string type", "string")
        let type = Datatype(owning: id)
        try Library.check(H5Tset_size(id, chdf5_t_variable()), "set string size", "string")
        try Library.check(H5Tset_cset(id, H5T_CSET_UTF8), "set string charset", "string")
        return type
    }

    /// A fixed-length, null-padded UTF-8 string type of `length` bytes.
    public static func fixedString(length: Int) throws(HDF5Error) -> Datatype {
        Library.prepare()
        let id = try Library.check(H5Tcopy(chdf5_t_c_s1()), "copy string type", "string")
        let type = Datatype(owning: id)
        try Library.check(H5Tset_size(id, max(1, length)), "set string size", "string")
        try Library.check(H5Tset_cset(id, H5T_CSET_UTF8), "set string charset", "string")
        try Library.check(H5Tset_strpad(id, H5T_STR_NULLPAD), "set string padding", "string")
        return type
    }

    /// Size of one element in bytes (`H5Tget_size`).
    public var size: Int { Int(H5Tget_size(id)) }

    /// The element type this datatype matches, or nil for other types (strings, compounds...).
    public var elementType: ElementType? {
        Library.prepare()
        let cls = H5Tget_class(id)
        let size = H5Tget_size(id)
        if cls == H5T_INTEGER {
            let signed = H5Tget_sign(id) == H5T_SGN_2
            switch (size, signed) {
            case (1, false): return .uint8
            case (2, false): return .uint16
            case (8, true): return .int64
            default: return nil
            }
        }
        if cls == H5T_FLOAT {
            switch size {
            case 2: return .float16
            case 4: return .float32
            case 8: return .float64
            default: return nil
            }
        }
        return nil
    }

    /// Closes the datatype now (otherwise `deinit` does).
    public func close() { _ = handle.close() }
}
