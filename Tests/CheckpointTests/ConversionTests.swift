import Foundation
import Testing

@testable import Checkpoint

@Suite struct ConversionTests {
    @Test(arguments: [
        (UInt16(0x3C00), Float(1)), (0xC000, -2), (0x7BFF, 65504), (0x0001, 0x1p-24), (0x03FF, 0x1.ff8p-15),
        (0x0400, 0x1p-14), (0x3555, 0.333251953125), (0x8000, -0.0), (0x7C00, .infinity), (0xFC00, -.infinity),
    ])
    func halfBitsWidenToKnownValues(bits: UInt16, value: Float) {
        let widened = HalfPrecision.float(fromHalfBits: bits)
        #expect(widened == value)
        #expect(widened.sign == value.sign)
        #expect(HalfPrecision.halfBits(from: value) == bits)
    }

    @Test func halfNaNStaysNaN() {
        #expect(HalfPrecision.float(fromHalfBits: 0x7E00).isNaN)
        #expect(HalfPrecision.halfBits(from: .nan) & 0x7C00 == 0x7C00)
        #expect(HalfPrecision.halfBits(from: .nan) & 0x03FF != 0)
        #expect(HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: .nan)).isNaN)
    }

    #if !(os(macOS) && arch(x86_64))
        /// The platform's Float16 is an independent implementation of the same IEEE conversions.
        @Test func halfConversionsAgreeWithFloat16Everywhere() {
            var mismatches = 0
            for bits in 0...UInt16.max {
                let reference = Float(Float16(bitPattern: bits))
                let mine = HalfPrecision.float(fromHalfBits: bits)
                if reference.isNaN ? !mine.isNaN : reference.bitPattern != mine.bitPattern { mismatches += 1 }
            }
            #expect(mismatches == 0)
            // Narrowing: halfway points and neighbours of every 16th half value, plus overflow.
            var narrowMismatches = 0
            for bits in stride(from: 0, to: 0x7C00, by: 7) {
                let a = HalfPrecision.float(fromHalfBits: UInt16(bits))
                let b = HalfPrecision.float(fromHalfBits: UInt16(bits + 1))
                for x in [
                    a, (a + b) / 2, a.nextUp, ((a + b) / 2).nextDown, ((a + b) / 2).nextUp, -a, 70000, 65520, 65519,
                ] {
                    if Float16(x).bitPattern != HalfPrecision.halfBits(from: x) { narrowMismatches += 1 }
                }
            }
            #expect(narrowMismatches == 0)
        }
    #endif

    @Test func bfloat16RoundsToNearestEven() {
        #expect(HalfPrecision.bfloat16Bits(from: 1) == 0x3F80)
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even gives 1.
        #expect(HalfPrecision.bfloat16Bits(from: 1 + 0x1p-8) == 0x3F80)
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
        #expect(HalfPrecision.bfloat16Bits(from: 1 + 3 * 0x1p-8) == 0x3F82)
        #expect(HalfPrecision.bfloat16Bits(from: (1 + 0x1p-8).nextUp) == 0x3F81)
        #expect(HalfPrecision.float(fromBFloat16Bits: 0xC049) == -3.140625)
    }

    @Test func storedTensorConvertsEveryDType() throws {
        let values: [Float] = [0.5, -1.25, 3]
        for dtype in [DType.float16, .bfloat16, .float32, .float64] {
            let t = StoredTensor(floats: values, shape: [3], dtype: dtype)
            #expect(t.data.count == 3 * dtype.byteSize)
            #expect(try t.floats() == values, "\(dtype)")
        }
        let ints: [(DType, [UInt8], [Int64])] = [
            (.int8, [0xFF, 0x02], [-1, 2]), (.uint8, [0xFF, 0x02], [255, 2]), (.bool, [1, 0], [1, 0]),
            (.int16, [0xFE, 0xFF, 0x00, 0x01], [-2, 256]), (.uint16, [0xFE, 0xFF, 0x00, 0x01], [65534, 256]),
            (.int32, [0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0, 0, 0], [-1, 16]),
            (.uint32, [0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0, 0, 0], [4_294_967_295, 16]),
        ]
        for (dtype, bytes, expected) in ints {
            let t = StoredTensor(dtype: dtype, shape: [2], data: bytes)
            #expect(try t.int64s() == expected, "\(dtype)")
            #expect(try t.floats() == expected.map(Float.init), "\(dtype)")
        }
        let longs = StoredTensor(int64s: [Int64.min, 7], shape: [2])
        #expect(try longs.int64s() == [Int64.min, 7])
        #expect(try longs.floats() == [Float(Int64.min), 7])
        #expect(throws: CheckpointError.self) { try StoredTensor(floats: [1], shape: [1]).int64s() }
        let big = StoredTensor(
            dtype: .uint64, shape: [2], data: [UInt8](repeating: 0xFF, count: 8) + [9, 0, 0, 0, 0, 0, 0, 0])
        #expect(
            throws: CheckpointError.badTensor(
                tensor: "", reason: "U64 value 18446744073709551615 does not fit in Int64")
        ) {
            try big.int64s()
        }
        #expect(try big.floats() == [Float(UInt64.max), 9])
    }

    @Test func mutatedTensorsThatNoLongerMatchAreReported() {
        var dict = StateDict()
        var t = StoredTensor(floats: [1, 2], shape: [2])
        t.shape = [3]
        dict.tensors["w"] = t
        #expect(throws: CheckpointError.badTensor(tensor: "w", reason: "8 bytes do not hold shape [3] of F32")) {
            try dict.floats("w")
        }
        #expect(throws: CheckpointError.badTensor(tensor: "w", reason: "8 bytes do not hold shape [3] of F32")) {
            try SafeTensors.serialize(dict)
        }
        #expect(throws: CheckpointError.badTensor(tensor: "nope", reason: "not in the state dict")) {
            try dict.floats("nope")
        }
    }

    @Test func strippingPrefixRemovesOnlyThePrefix() {
        let a = StoredTensor(floats: [1], shape: [1])
        let b = StoredTensor(floats: [2], shape: [1])
        let dict = StateDict(
            tensors: ["module.conv.weight": a, "module.module.x": a, "head.bias": b, "conv.weight": b],
            metadata: ["k": "v"])
        let stripped = dict.strippingPrefix("module.")
        #expect(Set(stripped.tensors.keys) == ["conv.weight", "module.x", "head.bias"])
        // The unprefixed original wins a collision.
        #expect(stripped.tensors["conv.weight"] == b)
        #expect(stripped.tensors["module.x"] == a)
        #expect(stripped.metadata == ["k": "v"])
        #expect(dict.elementCount == 4)
        #expect(dict.names == ["conv.weight", "head.bias", "module.conv.weight", "module.module.x"])
    }
}
