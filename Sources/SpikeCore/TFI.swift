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
        let pixels = volume.geometry.pixelCount
        var left = [Int32](repeating: -1, count: pixels)
        var right = [Int32](repeating: -1, count: pixels)
        volume.values.withUnsafeBufferPointer { v in
            var l = m
            while l >= 0 && l > m - window {
                if l < volume.frameCount {
                    let base = l * pixels
                    for p in 0..<pixels where left[p] < 0 && v[base + p] != 0 { left[p] = Int32(l) }
                }
                l -= 1
            }
            var r = m + 1
            while r < volume.frameCount && r <= m + window {
                if r >= 0 {
                    let base = r * pixels
                    for p in 0..<pixels where right[p] < 0 && v[base + p] != 0 { right[p] = Int32(r) }
                }
                r += 1
            }
        }
        return interval(left: left, right: right, middle: m, window: window)
    }

    /// `middleTFI` straight from packed frames (no unpacking of the window): `[H * W]`
    /// row-major in display order.
    public static func middle(_ packed: PackedSpikeFrames, middle m: Int, window: Int = 50) -> [Float] {
        let g = packed.geometry
        let pixels = g.pixelCount
        let frameBytes = g.bytesPerFrame
        // Indices are tracked in stored order and flipped at the end.
        var left = [Int32](repeating: -1, count: pixels)
        var right = [Int32](repeating: -1, count: pixels)
        packed.bytes.withUnsafeBufferPointer { src in
            func scan(_ frame: Int, into found: inout [Int32]) {
                let base = frame * frameBytes
                for k in 0..<frameBytes {
                    var byte = src[base + k]
                    while byte != 0 {
                        let b = byte.trailingZeroBitCount
                        byte &= byte - 1
                        let p = 8 * k + b
                        if found[p] < 0 { found[p] = Int32(frame) }
                    }
                }
            }
            var l = min(m, packed.count - 1)
            while l >= 0 && l > m - window {
                scan(l, into: &left)
                l -= 1
            }
            var r = max(m + 1, 0)
            while r < packed.count && r <= m + window {
                scan(r, into: &right)
                r += 1
            }
        }
        let storedOrder = interval(left: left, right: right, middle: m, window: window)
        return flipRows(storedOrder, height: g.height, width: g.width)
    }

    /// The training convention of the published checkpoints: `middleTFI(window, T/2) / 0.5`
    /// on the T-frame window fed to the model.
    public static func trainingInput(_ window: PackedSpikeFrames, tfiWindow: Int = 50) -> [Float] {
        middle(window, middle: window.count / 2, window: tfiWindow).map { $0 / 0.5 }
    }

    static func interval(left: [Int32], right: [Int32], middle m: Int, window: Int) -> [Float] {
        var out = [Float](repeating: 0, count: left.count)
        for p in 0..<left.count {
            // A spike at index 0 reads as "none" in the reference: its accumulated index is 0.
            let l = left[p] > 0 ? Int(left[p]) : m - window
            let r = right[p] > 0 ? Int(right[p]) : m + window
            out[p] = Float(1.0 / Double(r - l))
        }
        return out
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
