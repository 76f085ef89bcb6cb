// Word-at-a-time kernels behind DatCodec: one 64-bit table store expands a byte into eight
// pixels, one multiply gathers eight pixels back into a byte.
extension DatCodec {
    /// Multiplying eight 0/1 byte lanes by this constant gathers lane `b` into bit `56 + b`.
    static let packMagic: UInt64 = 0x0102_0408_1020_4080

    /// Decodes `frameCount` packed frames at `source` into `destination`
    /// (`frameCount * H * W` bytes, display row order).
    static func decodeFrames(
        source: UnsafeRawPointer, frameCount: Int, geometry: SpikeGeometry,
        destination: UnsafeMutablePointer<UInt8>
    ) {
        let height = geometry.height
        let width = geometry.width
        let pixels = geometry.pixelCount
        let bytesPerFrame = geometry.bytesPerFrame
        expansion.withUnsafeBufferPointer { table in
            // Safe: table has 256 entries and every index is a UInt8.
            let lut = table.baseAddress.unsafelyUnwrapped
            if width % 8 == 0 {
                // Each stored row is whole bytes: decode straight into its flipped place.
                let rowBytes = width / 8
                for frame in 0..<frameCount {
                    let src = source.advanced(by: frame * bytesPerFrame).assumingMemoryBound(to: UInt8.self)
                    let dstFrame = UnsafeMutableRawPointer(destination.advanced(by: frame * pixels))
                    for storedRow in 0..<height {
                        let srcRow = src.advanced(by: storedRow * rowBytes)
                        let dstRow = dstFrame.advanced(by: (height - 1 - storedRow) * width)
                        for k in 0..<rowBytes {
                            // Unaligned stores are allowed for trivial types (SE-0349).
                            dstRow.storeBytes(of: lut[Int(srcRow[k])], toByteOffset: 8 * k, as: UInt64.self)
                        }
                    }
                }
            } else {
                // Rows straddle bytes: decode in stored order into scratch, then copy rows flipped.
                let scratch = UnsafeMutableRawPointer.allocate(byteCount: pixels, alignment: 8)
                defer { scratch.deallocate() }
                for frame in 0..<frameCount {
                    let src = source.advanced(by: frame * bytesPerFrame).assumingMemoryBound(to: UInt8.self)
                    for k in 0..<bytesPerFrame {
                        scratch.storeBytes(of: lut[Int(src[k])], toByteOffset: 8 * k, as: UInt64.self)
                    }
                    let dstFrame = destination.advanced(by: frame * pixels)
                    for storedRow in 0..<height {
                        (dstFrame + (height - 1 - storedRow) * width).update(
                            from: scratch.advanced(by: storedRow * width).assumingMemoryBound(to: UInt8.self),
                            count: width)
                    }
                }
            }
        }
    }

    /// Packs `frameCount` decoded frames (0/1 bytes, display order) at `source` into
    /// `destination` (`frameCount * H * W / 8` bytes, stored layout).
    static func encodeFrames(
        source: UnsafePointer<UInt8>, frameCount: Int, geometry: SpikeGeometry,
        destination: UnsafeMutablePointer<UInt8>
    ) {
        let height = geometry.height
        let width = geometry.width
        let pixels = geometry.pixelCount
        let bytesPerFrame = geometry.bytesPerFrame
        let magic = packMagic
        if width % 8 == 0 {
            let rowBytes = width / 8
            for frame in 0..<frameCount {
                let srcFrame = UnsafeRawPointer(source.advanced(by: frame * pixels))
                let dst = destination.advanced(by: frame * bytesPerFrame)
                for storedRow in 0..<height {
                    let srcRow = srcFrame.advanced(by: (height - 1 - storedRow) * width)
                    let dstRow = dst.advanced(by: storedRow * rowBytes)
                    for k in 0..<rowBytes {
                        let lanes = srcRow.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)
                        dstRow[k] = UInt8(truncatingIfNeeded: (lanes &* magic) >> 56)
                    }
                }
            }
        } else {
            let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: pixels)
            defer { scratch.deallocate() }
            for frame in 0..<frameCount {
                let srcFrame = source.advanced(by: frame * pixels)
                for storedRow in 0..<height {
                    (scratch + storedRow * width).update(
                        from: srcFrame + (height - 1 - storedRow) * width, count: width)
                }
                let raw = UnsafeRawPointer(scratch)
                let dst = destination.advanced(by: frame * bytesPerFrame)
                for k in 0..<bytesPerFrame {
                    let lanes = raw.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)
                    dst[k] = UInt8(truncatingIfNeeded: (lanes &* magic) >> 56)
                }
            }
        }
    }
}
