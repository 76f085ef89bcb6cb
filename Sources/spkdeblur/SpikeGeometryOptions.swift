import ArgumentParser
import SpikeCore

/// `--height H --width W`: the spike sensor's frame size, shared by every command that reads
/// a `.dat` recording.
struct SpikeGeometryOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Spike frame height in pixels (1...\(SpikeGeometry.maximumSide)).")
    var height: Int
    @Option(
        parsing: .unconditional,
        help: "Spike frame width in pixels (1...\(SpikeGeometry.maximumSide)); height*width a multiple of 8.")
    var width: Int

    /// The checked geometry (a one-line error naming both sides otherwise).
    func geometry() throws -> SpikeGeometry {
        do { return try SpikeGeometry(height: height, width: width) } catch { throw RunError(error.description) }
    }
}
