import ArgumentParser
import Deblur
import Foundation
import ImageCodecs
import Imaging
import SpikeCore
import Tensor

/// Which deblurring method a command runs.
extension Precision: ExpressibleByArgument {}

extension ModelChoice.Kind: ExpressibleByArgument {}

/// The command's method through the one factory (`DeblurrerFactory`): SpkDeblurNet from
/// `weights` (a file or `embedded:NAME`), the embedded default model without weights, or
/// the classical baseline. Returns it with the spike window length: `frames` when given
/// (refused when the model takes another), else the model's, else 56.
func makeDeblurrer(
    model: ModelChoice.Kind?, weights: String?, config: String?, threads: Int?, precision: Precision = .fp32,
    frames: Int?
) throws -> (deblurrer: any Deblurrer, frames: Int) {
    let deblurrer = try resolveModel(
        model: model, weights: weights, config: config, threads: threads, precision: precision
    ).deblurrer
    if let frames, let wanted = deblurrer.windowLength, frames != wanted {
        throw RunError("--frames \(frames) does not match the model's window of \(wanted) frames (S_in_chs)")
    }
    return (deblurrer, frames ?? deblurrer.windowLength ?? 56)
}

/// The command's model through the one factory, its errors as one-line command errors.
func resolveModel(
    model: ModelChoice.Kind?, weights: String?, config: String?, threads: Int?, precision: Precision
) throws -> ResolvedModel {
    do {
        return try DeblurrerFactory.make(
            ModelChoice(
                kind: model ?? .spkdeblurnet, weights: weights, config: config, threads: threads,
                precision: precision))
    } catch { throw RunError(error.description) }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// `spkdeblur deblur`: one blurry image and its spike stream in, one sharp image out.
struct DeblurCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deblur",
        abstract: "Deblur one RGB image with the spike frames around its exposure midpoint.",
        discussion: """
            The image is resized (bilinear) to exactly twice the spike resolution, as the reference \
            demo does. The spike window is frames [I - T/2, I - T/2 + T) of the .dat, I = --center, \
            T = --frames (default: the model's S_in_chs, else 56). The model's TFI input follows the \
            training convention of the published checkpoints, middleTFI(window, T/2) / 0.5; note that \
            the reference demo script (test_real.py) omits the / 0.5, we follow training. Without \
            --weights the embedded default model runs (`spkdeblur models` lists it); --model classical \
            runs the weight-free baseline.
            """)

    @Option(help: "Blurry RGB image (PNG or JPEG).") var blur: String
    @Option(help: "Spike stream (.dat).") var spikes: String
    @OptionGroup var sensor: SpikeGeometryOptions
    @Option(help: "Spike frame at the exposure midpoint (window centre).") var center: Int
    @Option(help: "SpkDeblurNet weights (.pth, .safetensors, or embedded:NAME; default: the embedded model).")
    var weights: String?
    @Option(help: "Model config JSON (default: inferred from the weights).") var config: String?
    @Option(help: "Method: spkdeblurnet (default) or classical.") var model: ModelChoice.Kind?
    @Option(help: "Spike frames per window (default: the model's S_in_chs, else 56).") var frames: Int?
    @Option(help: "Output PNG of the deblurred image.") var out: String
    @Option(help: "Also write the spike reconstruction (grey PNG), when the method makes one.") var recon: String?
    @Option(help: "Also write the quick estimate (PNG), when the method makes one.") var quick: String?
    @Option(help: "CPU threads.") var threads: Int?
    @Option(help: "GEMM precision of spkdeblurnet: fp32, or bf16 (needs a CPU with avx512_bf16).")
    var precision: Precision = .fp32

    func validate() throws {
        if let frames, frames < 2 { throw ValidationError("--frames must be at least 2, got \(frames)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let (deblurrer, t) = try makeDeblurrer(
            model: model, weights: weights, config: config, threads: threads, precision: precision, frames: frames)
        guard FileManager.default.fileExists(atPath: blur) else { throw RunError("\(blur): image not found") }
        guard FileManager.default.fileExists(atPath: spikes) else { throw RunError("\(spikes): spike file not found") }
        // ImagingError names the file and the problem.
        let image = try ImageFile.read(URL(fileURLWithPath: blur))
        let geometry = try sensor.geometry()
        let file = try DatFile(path: spikes, geometry: geometry)
        let range = SpikeWindow.range(center: center, length: t)
        guard range.lowerBound >= 0, range.upperBound <= file.frameCount else {
            throw RunError(
                "\(spikes): window \(range.lowerBound)..<\(range.upperBound) (--center \(center), \(t) frames) is outside the \(file.frameCount) frames of the stream"
            )
        }
        let window = try file.read(range)
        let rgb = image.rgb().resizedBilinear(width: 2 * geometry.width, height: 2 * geometry.height)
        // The network's TFI input is `middleTFI(window, T/2) / 0.5` (NetworkDeblurrer), the
        // convention the published checkpoints were trained with; the reference demo script
        // test_real.py feeds `middleTFI` without the / 0.5. We follow training.
        let start = Date()
        let result = try deblurrer.deblur(DeblurInput(blur: rgb.featureMap, spikes: window))
        let seconds = Date().timeIntervalSince(start)
        try ImageFile.writePNG(result.sharp.image, to: URL(fileURLWithPath: out))
        var written = [out]
        for (path, map, what) in [
            (recon, result.spikeRecon, "spike reconstruction"), (quick, result.quickSharp, "quick estimate"),
        ] {
            guard let path else { continue }
            guard let map else {
                printError("note: \(deblurrer.name) makes no \(what); \(path) not written")
                continue
            }
            try ImageFile.writePNG(map.image, to: URL(fileURLWithPath: path))
            written.append(path)
        }
        print(
            String(
                format: "%@: %dx%d, spike frames %d..<%d, %.3f s; wrote %@", deblurrer.name, rgb.width, rgb.height,
                range.lowerBound, range.upperBound, seconds, written.joined(separator: ", ")))
    }
}

/// A one-line failure of the `deblur` and `eval` commands (a bad file, a window out of range):
/// printed as `Error: <message>` without the usage text that `ValidationError` adds.
struct RunError: Error, CustomStringConvertible {
    /// The message, naming the file or option and the problem.
    var description: String
    init(_ message: String) { description = message }
}
