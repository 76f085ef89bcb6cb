/// Texture from inter-spike interval: the reference's `middleTFI`, quirks included.
///
/// Per pixel, the nearest spike at or before `middle` is searched among frames
/// `middle, middle-1, ..., middle-window+1` (those >= 0) and the nearest after `middle`
/// among `middle+1, ..., middle+window` (those < T). A spike at frame 0 counts as none
/// (reference quirk). No spike on the left gives `middle - window`, none on the right
/// `middle + window`; the result is `1 / (right - left)`, in (0, 1].
///
/// The published checkpoints were trained with `middle(window, T/2) / 0.5`; use
/// `trainingInput` for the model (the reference's one-image demo omits the `/0.5`; we
/// follow the training convention).
public enum TFI {
    /// `middleTFI` on a decoded volume.
    /// - Returns: `[H * W]` floats, display row order.
    /// - Precondition: `0 <= middle < T`, `window >= 1`.
    public static func middle(_ volume: SpikeVolume, middle: Int, window: Int = 50) -> [Float] {
        let frameCount = volume.frameCount
        precondition(middle >= 0 && middle < frameCount, "TFI middle \(middle) outside 0..<\(frameCount)")
        precondition(window >= 1, "TFI window must be positive")
        let pixels = volume.geometry.pixelCount
        let leftLower = max(0, middle - window + 1)
        let rightUpper = min(middle + window, frameCount - 1)
        var left = [Int32](repeating: 0, count: pixels)
        var right = [Int32](repeating: 0, count: pixels)
        volume.values.withUnsafeBufferPointer { values in
            left.withUnsafeMutableBufferPointer { left in
                // Ascending, later frames overwrite: the nearest spike at or before `middle` wins.
                // A spike at frame 0 writes 0, which reads as "none" (the reference quirk).
                for l in leftLower...middle {
                    let frame = values.baseAddress.unsafelyUnwrapped + l * pixels
                    let index = Int32(l)
                    for p in 0..<pixels where frame[p] != 0 {
                        left[p] = index
                    }
                }
            }
            right.withUnsafeMutableBufferPointer { right in
                // Descending, earlier frames overwrite: the nearest spike after `middle` wins.
                if middle + 1 <= rightUpper {
                    for r in stride(from: rightUpper, through: middle + 1, by: -1) {
                        let frame = values.baseAddress.unsafelyUnwrapped + r * pixels
                        let index = Int32(r)
                        for p in 0..<pixels where frame[p] != 0 {
                            right[p] = index
                        }
                    }
                }
            }
        }
        let table = reciprocalTable(window: window)
        let noneLeft = Int32(middle - window)
        let noneRight = Int32(middle + window)
        var tfi = [Float](repeating: 0, count: pixels)
        for p in 0..<pixels {
            let l = left[p] == 0 ? noneLeft : left[p]
            let r = right[p] == 0 ? noneRight : right[p]
            tfi[p] = table[Int(r - l)]
        }
        return tfi
    }

    /// `middleTFI` straight on packed frames (fast path: never decodes the window; each
    /// pixel is touched once per side).
    /// - Returns: `[H * W]` floats, display row order; identical to `middle(frames.unpacked(), ...)`.
    /// - Precondition: `0 <= middle < frames.count`, `window >= 1`.
    public static func middle(_ frames: PackedSpikeFrames, middle: Int, window: Int = 50) -> [Float] {
        let frameCount = frames.count
        precondition(middle >= 0 && middle < frameCount, "TFI middle \(middle) outside 0..<\(frameCount)")
        precondition(window >= 1, "TFI window must be positive")
        let geometry = frames.geometry
        let pixels = geometry.pixelCount
        let bpf = geometry.bytesPerFrame
        // Frame 0 is skipped on the left: a spike there counts as none.
        let leftLower = max(1, middle - window + 1)
        let rightUpper = min(middle + window, frameCount - 1)
        // Stored pixel order; 0 means "no spike found".
        var left = [Int32](repeating: 0, count: pixels)
        var right = [Int32](repeating: 0, count: pixels)
        frames.bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress.unsafelyUnwrapped
            if middle >= leftLower {
                scanNearest(
                    base: base, bytesPerFrame: bpf,
                    frameOrder: stride(from: middle, through: leftLower, by: -1), into: &left)
            }
            if middle + 1 <= rightUpper {
                scanNearest(
                    base: base, bytesPerFrame: bpf,
                    frameOrder: stride(from: middle + 1, through: rightUpper, by: 1), into: &right)
            }
        }
        let table = reciprocalTable(window: window)
        let noneLeft = Int32(middle - window)
        let noneRight = Int32(middle + window)
        let height = geometry.height
        let width = geometry.width
        return [Float](unsafeUninitializedCapacity: pixels) { out, initialized in
            for y in 0..<height {
                let stored = (height - 1 - y) * width
                let row = y * width
                for x in 0..<width {
                    let l = left[stored + x] == 0 ? noneLeft : left[stored + x]
                    let r = right[stored + x] == 0 ? noneRight : right[stored + x]
                    out[row + x] = table[Int(r - l)]
                }
            }
            initialized = pixels
        }
    }

    /// The model's TFI input for a `T`-frame window: `middle(window, T/2, 50) / 0.5`.
    public static func trainingInput(_ window: SpikeVolume) -> [Float] {
        middle(window, middle: window.frameCount / 2).map { $0 / 0.5 }
    }

    /// The model's TFI input straight from packed frames: `middle(frames, T/2, 50) / 0.5`.
    public static func trainingInput(_ window: PackedSpikeFrames) -> [Float] {
        middle(window, middle: window.count / 2).map { $0 / 0.5 }
    }

    /// `Float(1.0 / Double(n))` for n in 0...2*window, rounded as the reference does
    /// (float64 division, then float32).
    private static func reciprocalTable(window: Int) -> [Float] {
        (0...(2 * window)).map { $0 == 0 ? Float.infinity : Float(1.0 / Double($0)) }
    }

    /// For each frame in `frameOrder`, records the frame index for pixels that spike there
    /// and have no index yet (a "found" bit mask keeps the first hit).
    private static func scanNearest(
        base: UnsafeRawPointer, bytesPerFrame: Int, frameOrder: StrideThrough<Int>, into index: inout [Int32]
    ) {
        let fullWords = bytesPerFrame / 8
        let tailBytes = bytesPerFrame % 8
        let wordCount = fullWords + (tailBytes > 0 ? 1 : 0)
        var found = [UInt64](repeating: 0, count: wordCount)
        var remaining = bytesPerFrame * 8
        index.withUnsafeMutableBufferPointer { index in
            found.withUnsafeMutableBufferPointer { found in
                for t in frameOrder {
                    let frame = base + t * bytesPerFrame
                    let value = Int32(t)
                    for w in 0..<wordCount {
                        var word: UInt64
                        if w < fullWords {
                            word = frame.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self)
                        } else {
                            word = 0
                            for b in 0..<tailBytes {
                                word |= UInt64(frame.load(fromByteOffset: 8 * w + b, as: UInt8.self)) << UInt64(8 * b)
                            }
                        }
                        var fresh = word & ~found[w]
                        if fresh == 0 { continue }
                        found[w] |= fresh
                        remaining -= fresh.nonzeroBitCount
                        let pixelBase = 64 * w
                        while fresh != 0 {
                            index[pixelBase + fresh.trailingZeroBitCount] = value
                            fresh &= fresh &- 1
                        }
                    }
                    if remaining == 0 { return }
                }
            }
        }
    }
}
