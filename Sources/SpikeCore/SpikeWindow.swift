/// Cutting the T spike frames that the model sees around a spike frame index.
public enum SpikeWindow {
    /// The frames `[c - T/2, c - T/2 + T)` centred on spike frame `c`, as the reference
    /// datasets cut them.
    public static func range(center c: Int, length t: Int) -> Range<Int> {
        (c - t / 2)..<(c - t / 2 + t)
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
