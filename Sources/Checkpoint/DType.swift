/// The element type of a stored tensor, spelled as in the safetensors header.
///
/// Raw values are the safetensors dtype strings (`"F32"`, `"BF16"`, ...). Element data is
/// always little-endian.
public enum DType: String, Sendable, CaseIterable, Hashable {
    case bool = "BOOL"
    case uint8 = "U8"
    case int8 = "I8"
    case int16 = "I16"
    case uint16 = "U16"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case uint32 = "U32"
    case float32 = "F32"
    case float64 = "F64"
    case int64 = "I64"
    case uint64 = "U64"

    /// The size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .bool, .uint8, .int8: 1
        case .int16, .uint16, .float16, .bfloat16: 2
        case .int32, .uint32, .float32: 4
        case .float64, .int64, .uint64: 8
        }
    }

    /// The size of one element in bytes (same as ``byteSize``).
    public var size: Int { byteSize }

    /// Whether the type holds integers (or booleans) rather than floating-point values.
    public var isIntegral: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: false
        default: true
        }
    }

    /// Position in the safetensors writer's layout order: tensors are laid out by this rank
    /// (descending), then by name, which keeps every tensor aligned to its element size.
    var layoutRank: Int {
        switch self {
        case .bool: 0
        case .uint8: 1
        case .int8: 2
        case .int16: 3
        case .uint16: 4
        case .float16: 5
        case .bfloat16: 6
        case .int32: 7
        case .uint32: 8
        case .float32: 9
        case .float64: 10
        case .int64: 11
        case .uint64: 12
        }
    }
}
