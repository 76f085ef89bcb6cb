/// Texture From Interval: intensity from the interval between the spikes around a frame.
///
/// Matches the reference `middleTFI` exactly, quirks included:
/// - the left search scans `m, m-1, ..., m-window+1` (while `>= 0`) for the nearest spike at or
///   before `m`; the right search scans `m+1, ..., m+window` (while `< T`);
/// - a spike found at index 0 counts as none (the reference accumulates `index * spike`);
/// - none on the left gives `m - window`, none on the right `m + window`;
/// - `tfi = 1 / (right - left)`.
public enum TFI {
    /// `middleTFI` of decoded frames: `[H * W]` row-major, display order.
    public static func middle(_ volume: SpikeVolume, middle m: Int, window: Int = 50) -> [Float] {
        precondition(window >= 1, "TFI window must be positive")
        let pixels = volume.geometry.pixelCount
        let frameCount = volume.frameCount
        // 0 means "none": frame 0 is never recorded, exactly as the reference's index sum.
        var left = [Int32](repeating: 0, count: pixels)
        var right = [Int32](repeating: 0, count: pixels)
        let leftLower = max(1, m - window + 1)
        let leftUpper = min(m, frameCount - 1)
        let rightLower = max(m + 1, 1)
        let rightUpper = min(m + window, frameCount - 1)
        if max(leftUpper, rightUpper) < 255 {
            // Byte-wide max/min reductions over whole frames (vectorise well); 255 = none on the right.
            var left8 = [UInt8](repeating: 0, count: pixels)
            var right8 = [UInt8](repeating: 255, count: pixels)
            volume.values.withUnsafeBufferPointer { v in
                guard let values = v.baseAddress else { return }
                if leftLower <= leftUpper {
                    left8.withUnsafeMutableBufferPointer { out in
                        for l in leftLower...leftUpper {
                            let frame = values + l * pixels
                            let index = UInt8(l)
                            // spike -> l, none -> 0 (min(_, 1) tolerates any nonzero value); the max keeps the nearest (largest) index.
                            for p in 0..<pixels { out[p] = max(out[p], (0 &- min(frame[p], 1)) & index) }
                        }
                    }
                }
                if rightLower <= rightUpper {
                    right8.withUnsafeMutableBufferPointer { out in
                        for r in rightLower...rightUpper {
                            let frame = values + r * pixels
                            let index = UInt8(r)
                            // spike 1 -> r, 0 -> 255; the min keeps the nearest (smallest) index.
                            for p in 0..<pixels { out[p] = min(out[p], index | (min(frame[p], 1) &- 1)) }
                        }
                    }
                }
            }
            for p in 0..<pixels {
                left[p] = Int32(left8[p])
                right[p] = right8[p] == 255 ? 0 : Int32(right8[p])
            }
            return interval(left: left, right: right, middle: m, window: window)
        }
        volume.values.withUnsafeBufferPointer { v in
            guard let values = v.baseAddress else { return }
            // Ascending, later frames overwrite: the nearest spike at or before m wins.
            if leftLower <= leftUpper {
                left.withUnsafeMutableBufferPointer { out in
                    for l in leftLower...leftUpper {
                        let frame = values + l * pixels
                        let index = Int32(l)
                        for p in 0..<pixels { out[p] = frame[p] != 0 ? index : out[p] }
                    }
                }
            }
            // Descending, earlier frames overwrite: the nearest spike after m wins.
            if rightLower <= rightUpper {
                right.withUnsafeMutableBufferPointer { out in
                    for r in stride(from: rightUpper, through: rightLower, by: -1) {
                        let frame = values + r * pixels
                        let index = Int32(r)
                        for p in 0..<pixels { out[p] = frame[p] != 0 ? index : out[p] }
                    }
                }
            }
        }
        return interval(left: left, right: right, middle: m, window: window)
    }

    /// `middleTFI` straight from packed frames (no unpacking of the window): `[H * W]`
    /// row-major in display order. Works on 64 pixels at a time and touches each pixel's
    /// index at most once per side.
    public static func middle(_ packed: PackedSpikeFrames, middle m: Int, window: Int = 50) -> [Float] {
        precondition(window >= 1, "TFI window must be positive")
        let g = packed.geometry
        if min(m, packed.count - 1) < 256, min(m + window, packed.count - 1) < 256 {
            return middleBitSliced(packed, middle: m, window: window)
        }
        // Indices are tracked in stored order and flipped at the end.
        var left = [Int32](repeating: 0, count: g.pixelCount)
        var right = [Int32](repeating: 0, count: g.pixelCount)
        packed.bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            // Frame 0 is skipped on the left: a spike there counts as none.
            let leftLower = max(1, m - window + 1)
            let leftUpper = min(m, packed.count - 1)
            if leftLower <= leftUpper {
                scanNearest(
                    base: base, bytesPerFrame: g.bytesPerFrame,
                    frameOrder: stride(from: leftUpper, through: leftLower, by: -1), into: &left)
            }
            let rightLower = max(m + 1, 1)
            let rightUpper = min(m + window, packed.count - 1)
            if rightLower <= rightUpper {
                scanNearest(
                    base: base, bytesPerFrame: g.bytesPerFrame,
                    frameOrder: stride(from: rightLower, through: rightUpper, by: 1), into: &right)
            }
        }
        let storedOrder = interval(left: left, right: right, middle: m, window: window)
        return flipRows(storedOrder, height: g.height, width: g.width)
    }

    /// The packed path for frame indices below 256: the nearest-spike index of every pixel is
    /// kept bit-sliced (eight 64-pixel planes per word, one per index bit), so each frame costs
    /// a handful of word operations per 64 pixels, with no per-pixel work until the end.
    static func middleBitSliced(_ packed: PackedSpikeFrames, middle m: Int, window: Int) -> [Float] {
        let g = packed.geometry
        let bpf = g.bytesPerFrame
        let words = (bpf + 7) / 8
        var left = [UInt8](repeating: 0, count: words * 64)
        var right = [UInt8](repeating: 0, count: words * 64)
        packed.bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            // Frame 0 is skipped on the left: a spike there counts as none (index 0).
            let leftLower = max(1, m - window + 1)
            let leftUpper = min(m, packed.count - 1)
            if leftLower <= leftUpper {
                sliceNearest(
                    base: base, bytesPerFrame: bpf, frameOrder: stride(from: leftUpper, through: leftLower, by: -1),
                    into: &left)
            }
            let rightLower = max(m + 1, 1)
            let rightUpper = min(m + window, packed.count - 1)
            if rightLower <= rightUpper {
                sliceNearest(
                    base: base, bytesPerFrame: bpf, frameOrder: stride(from: rightLower, through: rightUpper, by: 1),
                    into: &right)
            }
        }
        // Every interval lies in 1...2*window; table[n] = Float(1.0 / Double(n)) as the reference rounds.
        let table = (0...(2 * window)).map { $0 == 0 ? Float.infinity : Float(1.0 / Double($0)) }
        let noneLeft = m - window
        let noneRight = m + window
        let (height, width) = (g.height, g.width)
        return [Float](unsafeUninitializedCapacity: g.pixelCount) { out, initialized in
            for y in 0..<height {
                let stored = (height - 1 - y) * width
                let row = y * width
                for x in 0..<width {
                    let l = left[stored + x] == 0 ? noneLeft : Int(left[stored + x])
                    let r = right[stored + x] == 0 ? noneRight : Int(right[stored + x])
                    out[row + x] = table[r - l]
                }
            }
            initialized = g.pixelCount
        }
    }

    /// The `w`th 64-bit word of a packed frame; the last word may be partial (zero-filled).
    @inline(__always)
    private static func loadWord(_ frame: UnsafeRawPointer, _ w: Int, fullWords: Int, tailBytes: Int) -> UInt64 {
        if w < fullWords { return frame.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self) }
        var word: UInt64 = 0
        for b in 0..<tailBytes {
            word |= UInt64(frame.load(fromByteOffset: 8 * w + b, as: UInt8.self)) << UInt64(8 * b)
        }
        return word
    }

    /// First-hit frame index per pixel (stored order, 0 = none) over `frameOrder`, all < 256.
    private static func sliceNearest(
        base: UnsafeRawPointer, bytesPerFrame: Int, frameOrder: StrideThrough<Int>, into index: inout [UInt8]
    ) {
        let fullWords = bytesPerFrame / 8
        let tailBytes = bytesPerFrame % 8
        let words = fullWords + (tailBytes > 0 ? 1 : 0)
        var found = [UInt64](repeating: 0, count: words)
        var planes = [UInt64](repeating: 0, count: 8 * words)
        found.withUnsafeMutableBufferPointer { found in
            planes.withUnsafeMutableBufferPointer { planes in
                for t in frameOrder {
                    let frame = base + t * bytesPerFrame
                    for w in 0..<words {
                        let word = loadWord(frame, w, fullWords: fullWords, tailBytes: tailBytes)
                        let fresh = word & ~found[w]
                        if fresh == 0 { continue }
                        found[w] |= fresh
                        var bits = t
                        var plane = 0
                        while bits != 0 {
                            if bits & 1 == 1 { planes[plane * words + w] |= fresh }
                            bits >>= 1
                            plane += 1
                        }
                    }
                }
            }
        }
        // Unslice: each plane byte expands to eight 0/1 lanes, shifted into its index bit.
        DatCodec.expansion.withUnsafeBufferPointer { table in
            planes.withUnsafeBytes { planeBytes in
                index.withUnsafeMutableBytes { out in
                    guard let planeBase = planeBytes.baseAddress else { return }
                    for plane in 0..<8 {
                        let shift = UInt64(plane)
                        let source = planeBase + plane * words * 8
                        for k in 0..<(words * 8) {
                            let byte = source.load(fromByteOffset: k, as: UInt8.self)
                            if byte == 0 { continue }
                            let lanes = out.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)
                            out.storeBytes(
                                of: lanes | (table[Int(byte)] << shift), toByteOffset: 8 * k, as: UInt64.self)
                        }
                    }
                }
            }
        }
    }

    /// The training convention of the published checkpoints on decoded frames:
    /// `middleTFI(window, T/2) / 0.5`.
    public static func trainingInput(_ window: SpikeVolume, tfiWindow: Int = 50) -> [Float] {
        middle(window, middle: window.frameCount / 2, window: tfiWindow).map { $0 / 0.5 }
    }

    /// The training convention of the published checkpoints: `middleTFI(window, T/2) / 0.5`
    /// on the T-frame window fed to the model.
    public static func trainingInput(_ window: PackedSpikeFrames, tfiWindow: Int = 50) -> [Float] {
        middle(window, middle: window.count / 2, window: tfiWindow).map { $0 / 0.5 }
    }

    static func interval(left: [Int32], right: [Int32], middle m: Int, window: Int) -> [Float] {
        // Every interval lies in 1...2*window; table[n] = Float(1.0 / Double(n)) as the reference rounds.
        let table = (0...(2 * window)).map { $0 == 0 ? Float.infinity : Float(1.0 / Double($0)) }
        let noneLeft = m - window
        let noneRight = m + window
        var out = [Float](repeating: 0, count: left.count)
        for p in 0..<left.count {
            // A spike at index 0 reads as "none" in the reference: its accumulated index is 0.
            let l = left[p] > 0 ? Int(left[p]) : noneLeft
            let r = right[p] > 0 ? Int(right[p]) : noneRight
            out[p] = table[r - l]
        }
        return out
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
                        let word = loadWord(frame, w, fullWords: fullWords, tailBytes: tailBytes)
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

    static func flipRows(_ values: [Float], height: Int, width: Int) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        for r in 0..<height {
            let from = (height - 1 - r) * width
            for x in 0..<width { out[r * width + x] = values[from + x] }
        }
        return out
    }
}

/// Texture From Playback: spike count over a window divided by the window length.
public enum TFP {
    /// The reference `middleTFP`: mean of frames `max(m-window+1, 0) ..< min(m+window+1, T)`.
    public static func middle(_ packed: PackedSpikeFrames, middle m: Int, window: Int = 50) -> [Float] {
        let lo = max(m - window + 1, 0)
        let hi = min(m + window + 1, packed.count)
        return intensity(packed, frames: lo..<hi)
    }

    /// The reference `middleTFP` on decoded frames: the mean of frames
    /// `max(center-window+1, 0) ..< min(center+window+1, T)`, `[H * W]` in display order.
    public static func intensity(_ volume: SpikeVolume, center: Int, window: Int = 50) -> [Float] {
        let lo = max(center - window + 1, 0)
        let hi = min(center + window + 1, volume.frameCount)
        let pixels = volume.geometry.pixelCount
        guard hi > lo else { return [Float](repeating: 0, count: pixels) }
        var counts = [UInt32](repeating: 0, count: pixels)
        volume.values.withUnsafeBufferPointer { v in
            counts.withUnsafeMutableBufferPointer { acc in
                for t in lo..<hi {
                    for p in 0..<pixels { acc[p] &+= UInt32(v[t * pixels + p]) }
                }
            }
        }
        let n = Float(hi - lo)
        return counts.map { Float($0) / n }
    }

    /// Spike count over `frames` divided by their number, `[H * W]` in display order.
    public static func intensity(_ packed: PackedSpikeFrames, frames: Range<Int>) -> [Float] {
        let g = packed.geometry
        let frameBytes = g.bytesPerFrame
        var counts = [Int32](repeating: 0, count: g.pixelCount)
        let lo = max(frames.lowerBound, 0)
        let hi = min(frames.upperBound, packed.count)
        guard hi > lo else { return [Float](repeating: 0, count: g.pixelCount) }
        packed.bytes.withUnsafeBufferPointer { src in
            for f in lo..<hi {
                let base = f * frameBytes
                for k in 0..<frameBytes {
                    var byte = src[base + k]
                    while byte != 0 {
                        let b = byte.trailingZeroBitCount
                        byte &= byte - 1
                        counts[8 * k + b] += 1
                    }
                }
            }
        }
        let n = Float(hi - lo)
        return TFI.flipRows(counts.map { Float($0) / n }, height: g.height, width: g.width)
    }
}
