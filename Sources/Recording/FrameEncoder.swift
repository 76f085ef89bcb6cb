/// One frame turned into stored chunks: produced on a worker thread.
struct EncodedFrame: Sendable {
    /// Compressed chunk per image dataset, or nil when compression failed.
    var chunks: [(ImageDataset, [UInt8]?)]
    var exposureStart: Int64
    var exposureEnd: Int64
    var spikeCenterIndex: Int64
    var frameID: Int64
    var latencyMilliseconds: Float
}

/// Converts pixels to the stored type and compresses them.
enum FrameEncoder {
    static func encode(_ frame: RecordedFrame, options: SequenceWriter.Options) -> EncodedFrame {
        var chunks: [(ImageDataset, [UInt8]?)] = []
        for dataset in options.imageDatasets {
            let pixels: RecordedFrame.Pixels?
            switch dataset {
            case .sharp: pixels = frame.sharp
            case .spikeRecon: pixels = frame.spikeRecon
            case .quickSharp: pixels = frame.quickSharp
            case .blur: pixels = frame.blur
            }
            guard let pixels else {
                chunks.append((dataset, nil))
                continue
            }
            let raw = convert(pixels, to: options.pixelType)
            chunks.append(
                (
                    dataset,
                    ChunkCodec.encode(
                        raw, elementSize: options.pixelType.size, compression: options.compression(for: dataset))
                ))
        }
        let (seconds, attoseconds) = frame.latency.components
        let latencyMs = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return EncodedFrame(
            chunks: chunks, exposureStart: frame.exposureStartNanoseconds, exposureEnd: frame.exposureEndNanoseconds,
            spikeCenterIndex: frame.spikeCenterIndex, frameID: frame.frameID, latencyMilliseconds: Float(latencyMs))
    }

    /// Little-endian bytes of `pixels` in `type`; floats to uint8 as round(clamp(x) * 255).
    static func convert(_ pixels: RecordedFrame.Pixels, to type: PixelType) -> [UInt8] {
        switch (pixels, type) {
        case (.uint8(let v), .uint8):
            return v
        case (.float(let v), .uint8):
            return v.withUnsafeBufferPointer(RecordedFrame.Pixels.eightBitValues)
        case (.uint8(let v), .float16):
            return bytes(v.map { Float16(Float($0) / 255) })
        case (.float(let v), .float16):
            return bytes(v.map { Float16($0) })
        case (.uint8(let v), .float32):
            return bytes(v.map { Float($0) / 255 })
        case (.float(let v), .float32):
            return bytes(v)
        }
    }

    private static func bytes<T: BitwiseCopyable>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }
}
