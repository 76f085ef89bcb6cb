import ArgumentParser
import Datasets
import Deblur
import DeblurEvaluation
import Foundation
import Tensor

/// `spkdeblur eval`: scores a method on a dataset split (PSNR/SSIM as the reference computes them).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a deblurring method on a Spk-GoPro or Spk-X4K1000FPS split (PSNR, SSIM).",
        discussion: """
            For every sample: the blurry frame, its sharp ground truth and the central T spike frames \
            are loaded, the method runs, and PSNR/SSIM are computed on the unclamped outputs as the \
            reference validation does. Rows: `blurry` (no deblurring), then `sharp`, `quick_sharp` and \
            `spike_recon` (scored against the grey ground truth) for SpkDeblurNet, or `classical`. \
            Without --weights the embedded default model runs (`spkdeblur models`).
            """)

    enum Layout: String, ExpressibleByArgument, CaseIterable { case gopro, x4k }

    @Option(help: "Dataset root.") var dataset: String
    @Option(help: "Dataset layout: gopro or x4k.") var layout: Layout
    @Option(help: "Split (gopro: train or test; x4k: train, val or test).") var split: String = "test"
    @Option(help: "Method: spkdeblurnet (default) or classical.") var model: ModelChoice.Kind?
    @Option(help: "SpkDeblurNet weights (.pth, .safetensors, or embedded:NAME; default: the embedded model).")
    var weights: String?
    @Option(help: "Model config JSON (default: inferred from the weights).") var config: String?
    @Option(help: "Spike frames per window (default: the model's S_in_chs, else 56).") var frames: Int?
    @Option(help: "Evaluate only the first N samples.") var limit: Int?
    @Option(help: "Write result PNGs to DIR/SEQUENCE/NAME.png.") var save: String?
    @Option(help: "Write the JSON report here.") var report: String?
    @Option(help: "Write a Markdown report here (crops go in NAME_crops/ next to it).") var markdown: String?
    @Option(help: "Write one side-by-side PNG (blurry | spike TFI | result | sharp) of the first samples.")
    var sheet: String?
    @Option(help: "Samples in --sheet and the Markdown crops.") var sheetRows: Int = 3
    @Flag(inversion: .prefixedNo, help: "Also score the classical baseline and print the gains over it.")
    var baseline = true
    @Option(help: "CPU threads.") var threads: Int?
    @Option(help: "GEMM precision of spkdeblurnet: fp32, or bf16 (needs a CPU with avx512_bf16).")
    var precision: Precision = .fp32

    func validate() throws {
        if let frames, frames < 2 { throw ValidationError("--frames must be at least 2, got \(frames)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard (1...64).contains(sheetRows) else { throw ValidationError("--sheet-rows must be 1...64") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if layout == .gopro, GoProDataset.Split(rawValue: split) == nil {
            throw ValidationError("--split must be train or test for the gopro layout, got \(split)")
        }
    }

    func run() throws {
        let (deblurrer, t) = try makeDeblurrer(
            model: model, weights: weights, config: config, threads: threads, precision: precision, frames: frames)
        let root = URL(fileURLWithPath: dataset)
        var samples: [DatasetSample]
        switch layout {
        case .gopro:
            samples = try GoProDataset(root: root, split: GoProDataset.Split(rawValue: split) ?? .test).samples
        case .x4k:
            samples = try X4KDataset(root: root, split: split, spikeLength: t).samples
        }
        if let limit { samples = Array(samples.prefix(limit)) }
        var evaluator = Evaluator(
            deblurrer: deblurrer, frames: t, saveDirectory: save.map { URL(fileURLWithPath: $0) },
            previewCount: markdown == nil && sheet == nil ? 0 : sheetRows)
        if baseline { evaluator.baselines = [ClassicalDeblurrer()] }
        let (result, previews) = try evaluator.evaluate(
            samples, describe: (deblurrer.name, dataset, layout.rawValue, split)
        ) { done, total, elapsed in
            let eta = elapsed / Double(done) * Double(total - done)
            printError(
                String(
                    format: "eval: %d/%d frames, %.2f s/frame, ETA %.0f s", done, total,
                    elapsed / Double(done), eta))
        }
        if let report {
            do { try result.json().write(to: URL(fileURLWithPath: report), options: .atomic) } catch {
                throw RunError("\(report): cannot write report: \(error.localizedDescription)")
            }
        }
        if let markdown {
            try Evaluator.writeMarkdown(result, previews: previews, to: URL(fileURLWithPath: markdown))
        }
        if let sheet { try Evaluator.writeSheet(previews, to: URL(fileURLWithPath: sheet)) }
        print("\(deblurrer.name) on \(layout.rawValue) \(split), \(samples.count) samples, \(t) spike frames")
        print(result.textTable())
        let main = evaluator.resultRowName
        if let mine = result.rows[main] {
            for other in result.order where other != main && ["blurry", "classical"].contains(other) {
                guard let row = result.rows[other] else { continue }
                print(
                    String(
                        format: "gain of %@ over %@: %+.2f dB PSNR, %+.4f SSIM", main, other, mine.psnr - row.psnr,
                        mine.ssim - row.ssim))
            }
        }
    }
}
