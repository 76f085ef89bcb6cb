/// Encodes and decodes the raw `.dat` ("vidar") spike stream layout.
///
/// See ``PackedSpikeFrames`` for the layout.
public enum DatCodec {
    /// For each byte value, its 8 bits as 8 bytes (0 or 1), least significant bit first,
    /// packed into a little-endian `UInt64` so one store writes 8 pixels.
    static let expansion: [UInt64] = (0..<256).map { v in
        var word: UInt64 = 0
        for b in 0..<8 where (v >> b) & 1 == 1 { word |= 1 << (8 * UInt64(b)) }
        return word
    }

    /// Decodes whole packed frames.
    /// - Precondition: `packed.count` is a whole number of frames.
    public static func decode(packed: ArraySlice<UInt8>, geometry: SpikeGeometry) -> SpikeVolume {
        let frameBytes = geometry.bytesPerFrame
        precondition(packed.count % frameBytes == 0, "partial frame")
        let frames = packed.count / frameBytes
        let total = frames * geometry.pixelCount
        let out = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            packed.withUnsafeBytes { raw in
                if frames > 0, let src = raw.baseAddress, let dst = buffer.baseAddress {
                    decodeFrames(source: src, frameCount: frames, geometry: geometry, destination: dst)
                }
            }
            initialized = total
        }
        return SpikeVolume(unchecked: geometry, frameCount: frames, values: out)
    }

    /// Decodes a `.dat` byte buffer.
    /// - Throws: ``SpikeError/malformedBuffer(field:size:frameBytes:)`` for a partial frame.
    public static func decode(_ bytes: [UInt8], geometry: SpikeGeometry) throws(SpikeError) -> SpikeVolume {
        guard bytes.count % geometry.bytesPerFrame == 0 else {
            throw .malformedBuffer(field: "spike bytes", size: bytes.count, frameBytes: geometry.bytesPerFrame)
        }
        return decode(packed: bytes[...], geometry: geometry)
    }

    /// Encodes decoded frames into the `.dat` layout (any nonzero value is a spike).
    public static func encode(_ volume: SpikeVolume) -> PackedSpikeFrames {
        let g = volume.geometry
        let byteCount = volume.frameCount * g.bytesPerFrame
        // The packing kernel needs exact 0/1 lanes; normalise only when something else is present.
        let values = volume.values.contains(where: { $0 > 1 }) ? volume.values.map { $0 == 0 ? 0 : 1 } : volume.values
        let bytes = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            values.withUnsafeBufferPointer { src in
                if volume.frameCount > 0, let base = src.baseAddress, let dst = buffer.baseAddress {
                    encodeFrames(source: base, frameCount: volume.frameCount, geometry: g, destination: dst)
                }
            }
            initialized = byteCount
        }
        // Bytes are whole frames by construction.
        return PackedSpikeFrames(uncheckedGeometry: g, bytes: bytes)
    }
}

extension PackedSpikeFrames {
    init(uncheckedGeometry geometry: SpikeGeometry, bytes: [UInt8]) {
        self.init(geometry: geometry)
        self.replaceBytes(bytes)
    }
}
