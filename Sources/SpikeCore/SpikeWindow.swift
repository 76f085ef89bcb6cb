/// Cutting the T spike frames that the model sees around a spike frame index.
public enum SpikeWindow {
    /// The frames `[c - T/2, c - T/2 + T)` centred on spike frame `c`, as the reference
    /// datasets cut them.
    ///
    /// The bounds saturate at `Int.min` / `Int.max` instead of overflowing, so an absurd
    /// centre gives a range that no file contains (and the caller reports it) rather than a trap.
    public static func range(center c: Int, length t: Int) -> Range<Int> {
        let t = max(t, 0)
        let (lo, under) = c.subtractingReportingOverflow(t / 2)
        let start = under ? Int.min : lo
        let (hi, over) = start.addingReportingOverflow(t)
        return start..<(over ? Int.max : hi)
    }

    /// Cuts the window around `center` from a recording.
    /// - Throws: ``SpikeError/rangeOutOfBounds(what:requested:available:)`` when the window
    ///   does not fit.
    public static func cut(_ file: DatFile, center: Int, length: Int) throws(SpikeError) -> PackedSpikeFrames {
        try file.read(range(center: center, length: length))
    }

    /// Cuts the window around `center` from packed frames.
    public static func cut(_ frames: PackedSpikeFrames, center: Int, length: Int) throws(SpikeError)
        -> PackedSpikeFrames
    {
        try frames.slice(range(center: center, length: length))
    }

    /// The spike frame nearest to a time, for a stream starting at `startNanoseconds` with
    /// `rateHz` frames per second (frame `i` is at `start + i / rate`).
    public static func frameIndex(atNanoseconds t: Int64, startNanoseconds: Int64, rateHz: Double) -> Int {
        Int((Double(t - startNanoseconds) * rateHz / 1e9).rounded())
    }
}
