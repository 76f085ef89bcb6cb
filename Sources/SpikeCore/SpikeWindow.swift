/// Cutting the model's input window out of a spike stream.
///
/// The model takes `length` (T) frames centred on spike frame `c`: frames
/// `c - T/2 ..< c - T/2 + T` (integer division), as the reference training loaders do.
public enum SpikeWindow {
    /// The frame range of the `length`-frame window centred on `center`.
    /// - Throws: `SpikeError.windowOutOfRange` when it does not fit in `0..<frameCount`,
    ///   `.invalidArgument` when `length` is not positive.
    public static func range(
        center: Int, length: Int, frameCount: Int, context: String = "spike window"
    ) throws(SpikeError) -> Range<Int> {
        guard length > 0 else {
            throw .invalidArgument(field: "\(context): window length", problem: "must be positive, got \(length)")
        }
        let lower = center - length / 2
        guard lower >= 0, lower + length <= frameCount else {
            throw .windowOutOfRange(context: context, center: center, length: length, frameCount: frameCount)
        }
        return lower..<(lower + length)
    }

    /// The centre frame the reference uses for a whole per-image stream: `frameCount / 2`
    /// (the Spk-GoPro loader takes frames `n/2 - 28 ..< n/2 + 28` for T = 56).
    public static func centralFrame(frameCount: Int) -> Int {
        frameCount / 2
    }

    /// The `length` frames around the middle of `frames`, still packed.
    /// - Throws: `SpikeError.windowOutOfRange` when the stream is shorter than `length`.
    public static func central(
        _ frames: PackedSpikeFrames, length: Int, context: String = "spike window"
    ) throws(SpikeError) -> PackedSpikeFrames {
        try cut(frames, center: centralFrame(frameCount: frames.count), length: length, context: context)
    }

    /// The `length` frames centred on `center`, still packed.
    /// - Throws: `SpikeError.windowOutOfRange` when the window does not fit.
    public static func cut(
        _ frames: PackedSpikeFrames, center: Int, length: Int, context: String = "spike window"
    ) throws(SpikeError) -> PackedSpikeFrames {
        frames.slice(try range(center: center, length: length, frameCount: frames.count, context: context))
    }

    /// The `length` frames centred on `center` of a decoded volume.
    /// - Throws: `SpikeError.windowOutOfRange` when the window does not fit.
    public static func cut(
        _ volume: SpikeVolume, center: Int, length: Int, context: String = "spike window"
    ) throws(SpikeError) -> SpikeVolume {
        volume.frames(try range(center: center, length: length, frameCount: volume.frameCount, context: context))
    }
}
