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
        let (h, w) = (geometry.height, geometry.width)
        let pixels = geometry.pixelCount
        var out = [UInt8](repeating: 0, count: frames * pixels)
        var stored = [UInt8](repeating: 0, count: pixels)
        packed.withUnsafeBufferPointer { src in
            stored.withUnsafeMutableBytes { tmp in
                out.withUnsafeMutableBufferPointer { dst in
                    let table = expansion
                    for f in 0..<frames {
                        // Expand the stored (upside-down) frame, 8 pixels per store.
                        for k in 0..<frameBytes {
                            tmp.storeBytes(of: table[Int(src[f * frameBytes + k])].littleEndian,
                                           toByteOffset: 8 * k, as: UInt64.self)
                        }
                        // Flip rows into display order.
                        let base = f * pixels
                        for r in 0..<h {
                            let from = (h - 1 - r) * w
                            for x in 0..<w { dst[base + r * w + x] = tmp[from + x] }
                        }
                    }
                }
            }
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
        let (h, w) = (g.height, g.width)
        let pixels = g.pixelCount
        var bytes = [UInt8](repeating: 0, count: volume.frameCount * g.bytesPerFrame)
        volume.values.withUnsafeBufferPointer { src in
            bytes.withUnsafeMutableBufferPointer { dst in
                for f in 0..<volume.frameCount {
                    let base = f * pixels
                    let outBase = f * g.bytesPerFrame
                    for sr in 0..<h {
                        let r = h - 1 - sr  // stored row sr holds display row H-1-sr
                        for x in 0..<w where src[base + r * w + x] != 0 {
                            let p = sr * w + x
                            dst[outBase + p >> 3] |= 1 << UInt8(p & 7)
                        }
                    }
                }
            }
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
