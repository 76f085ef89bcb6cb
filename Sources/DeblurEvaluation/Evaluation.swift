import Datasets
import Deblur
import Foundation
import ImageCodecs
import Imaging
import Metrics
import SpikeCore
import Tensor

/// One image's scores in an evaluation row.
public struct ImageScore: Codable, Sendable, Equatable {
    /// The sample name (`SEQUENCE/NAME`).
    public var name: String
    /// PSNR in dB against the ground truth.
    public var psnr: Double
    /// SSIM against the ground truth.
    public var ssim: Double
}

/// One row of an evaluation: an output of the method (or the blurry input) scored on every
/// sample.
public struct EvaluationRow: Codable, Sendable, Equatable {
    /// `blurry`, `sharp`, `quick_sharp`, `spike_recon` or the method name (`classical`).
    public var name: String
    /// What the row is scored against: `rgb` (the sharp frame) or `grey` (its grey level).
    public var reference: String
    /// Mean PSNR over the samples.
    public var psnr: Double
    /// Mean SSIM over the samples.
    public var ssim: Double
    /// Every sample's scores, in evaluation order.
    public var per_image: [ImageScore]
}

/// The result of evaluating a method on a dataset split.
public struct EvaluationReport: Codable, Sendable {
    /// The method name.
    public var model: String
    /// The dataset root and layout, as given.
    public var dataset: String
    /// The layout (`gopro` or `x4k`).
    public var layout: String
    /// The split.
    public var split: String
    /// Spike frames per window.
    public var frames: Int
    /// Samples evaluated.
    public var samples: Int
    /// Mean wall time of the method per sample, seconds.
    public var seconds_per_sample: Double
    /// Row names in display order.
    public var order: [String]
    /// The rows by name.
    public var rows: [String: EvaluationRow]

    /// The rows in display order.
    public var orderedRows: [EvaluationRow] { order.compactMap { rows[$0] } }

    /// The JSON encoding (sorted keys, pretty printed).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// A Markdown table of the rows (method, PSNR, SSIM).
    public func markdownTable() -> String {
        var lines = ["| output | PSNR (dB) | SSIM | scored against |", "|---|---:|---:|---|"]
        for row in orderedRows {
            lines.append(
                String(
                    format: "| %@ | %.3f | %.4f | %@ |", row.name, row.psnr, row.ssim,
                    row.reference == "grey" ? "grey ground truth" : "sharp ground truth"))
        }
        return lines.joined(separator: "\n")
    }

    /// A plain-text table for the terminal.
    public func textTable() -> String {
        var lines = ["output        PSNR (dB)    SSIM"]
        for row in orderedRows {
            lines.append(
                row.name.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + String(format: "  %9.3f  %.4f", row.psnr, row.ssim))
        }
        return lines.joined(separator: "\n")
    }
}

/// Evaluation helpers: the reference's grey ground truth, scoring, previews.
public enum Evaluation {
    /// The grey ground truth the reference scores the spike reconstruction against: the sharp
    /// PNG converted to 8-bit `L` by PIL (`(19595 R + 38470 G + 7471 B + 0x8000) >> 16` on 8-bit
    /// values), then divided by 255. Pixels are quantised to 8 bits first, as PIL reads them.
    public static func referenceGrey(_ image: Image) -> Image {
        if image.channels == 1 { return image }
        var out = Image(width: image.width, height: image.height, channels: 1)
        let q = image.toUInt8()
        for p in 0..<(image.width * image.height) {
            let l = (Int(q[3 * p]) * 19595 + Int(q[3 * p + 1]) * 38470 + Int(q[3 * p + 2]) * 7471 + 0x8000) >> 16
            out.pixels[p] = Float(l) / 255
        }
        return out
    }

    /// PSNR and SSIM of `test` against `reference` (same size), as the reference scores them:
    /// unclamped outputs, data range 1.
    public static func score(_ test: Image, against reference: Image) -> (psnr: Double, ssim: Double) {
        (
            ImageMetrics.psnr(reference.pixels, test.pixels),
            ImageMetrics.ssim(
                reference.pixels, test.pixels, width: reference.width, height: reference.height,
                channels: reference.channels)
        )
    }

    /// The model's TFI input for a window (training convention), upsampled 2x bilinearly to
    /// the RGB size, for previews.
    public static func tfiPreview(_ spikes: PackedSpikeFrames) -> Image {
        let g = spikes.geometry
        let tfi = Image(width: g.width, height: g.height, channels: 1, pixels: TFI.trainingInput(spikes))
        return tfi.resizedBilinear(width: 2 * g.width, height: 2 * g.height)
    }

    /// A centred crop of at most `size` x `size` pixels.
    public static func centreCrop(_ image: Image, size: Int) -> Image {
        let w = min(size, image.width), h = min(size, image.height)
        return image.cropped(x: (image.width - w) / 2, y: (image.height - h) / 2, width: w, height: h)
    }
}

/// Runs a ``Deblurrer`` over dataset samples and scores its outputs.
public struct Evaluator {
    /// The method.
    public var deblurrer: any Deblurrer
    /// Spike frames per window.
    public var frames: Int
    /// Where to write result PNGs (`DIR/SEQUENCE/NAME.png`, plus `_quick`/`_recon`), if anywhere.
    public var saveDirectory: URL?
    /// Samples to keep side-by-side crops for (the first ones).
    public var previewCount: Int
    /// Crop size of the previews.
    public var previewSize: Int
    /// Methods scored beside the main one on the same inputs (e.g. the classical baseline),
    /// each as a row of its own name.
    public var baselines: [any Deblurrer] = []

    /// A preview: blurry, spike TFI, result and ground truth crops of one sample.
    public struct Preview: Sendable {
        /// The sample name.
        public var name: String
        /// Crops in the order blurry, TFI, result, ground truth.
        public var crops: [Image]
    }

    /// Creates an evaluator.
    public init(
        deblurrer: any Deblurrer, frames: Int, saveDirectory: URL? = nil, previewCount: Int = 3,
        previewSize: Int = 256
    ) {
        self.deblurrer = deblurrer
        self.frames = frames
        self.saveDirectory = saveDirectory
        self.previewCount = previewCount
        self.previewSize = previewSize
    }

    /// The name of the row scoring `DeblurResult.sharp`: `sharp` for SpkDeblurNet (the
    /// reference's name), the method name otherwise.
    public var resultRowName: String { deblurrer.name == "spkdeblurnet" ? "sharp" : deblurrer.name }

    /// Evaluates every sample in order; `progress(done, total, secondsSoFar)` after each.
    /// - Throws: `DatasetError` for a sample that does not load, ``DeblurError`` from the
    ///   method, `ImagingError` when a result cannot be saved.
    public func evaluate(
        _ samples: [DatasetSample], describe: (model: String, dataset: String, layout: String, split: String),
        progress: (Int, Int, Double) -> Void = { _, _, _ in }
    ) throws -> (report: EvaluationReport, previews: [Preview]) {
        var scores: [String: [ImageScore]] = [:]
        var order = ["blurry", resultRowName]
        var references = ["blurry": "rgb", resultRowName: "rgb"]
        var previews: [Preview] = []
        var methodSeconds = 0.0
        let start = Date()
        for (index, sample) in samples.enumerated() {
            let loaded = try sample.load(spikeLength: frames)
            let sharp = loaded.sharp.rgb(), blur = loaded.blur.rgb()
            let t0 = Date()
            let result = try deblurrer.deblur(DeblurInput(blur: blur.featureMap, spikes: loaded.spikes))
            methodSeconds += Date().timeIntervalSince(t0)
            func add(_ row: String, _ image: Image, _ reference: Image) {
                let s = Evaluation.score(image, against: reference)
                scores[row, default: []].append(ImageScore(name: sample.name, psnr: s.psnr, ssim: s.ssim))
            }
            add("blurry", blur, sharp)
            for baseline in baselines where baseline.name != resultRowName {
                let other = try baseline.deblur(DeblurInput(blur: blur.featureMap, spikes: loaded.spikes))
                add(baseline.name, other.sharp.image, sharp)
                if !order.contains(baseline.name) {
                    order.insert(baseline.name, at: 1); references[baseline.name] = "rgb"
                }
            }
            let resultImage = result.sharp.image
            add(resultRowName, resultImage, sharp)
            var extra: [(String, Image)] = []
            if let quick = result.quickSharp {
                let image = quick.image
                add("quick_sharp", image, sharp)
                extra.append(("quick", image))
                if !order.contains("quick_sharp") { order.append("quick_sharp"); references["quick_sharp"] = "rgb" }
            }
            if let recon = result.spikeRecon {
                let image = recon.image
                add("spike_recon", image, Evaluation.referenceGrey(sharp))
                extra.append(("recon", image))
                if !order.contains("spike_recon") { order.append("spike_recon"); references["spike_recon"] = "grey" }
            }
            if let dir = saveDirectory {
                let base = dir.appendingPathComponent(sample.name)
                try? FileManager.default.createDirectory(
                    at: base.deletingLastPathComponent(), withIntermediateDirectories: true)
                try ImageFile.writePNG(resultImage, to: base.appendingPathExtension("png"))
                for (suffix, image) in extra {
                    try ImageFile.writePNG(
                        image, to: URL(fileURLWithPath: base.path + "_\(suffix)").appendingPathExtension("png"))
                }
            }
            if index < previewCount {
                let crops = [blur, Evaluation.tfiPreview(loaded.spikes), resultImage, sharp]
                    .map { Evaluation.centreCrop($0, size: previewSize) }
                previews.append(Preview(name: sample.name, crops: crops))
            }
            progress(index + 1, samples.count, Date().timeIntervalSince(start))
        }
        var rows: [String: EvaluationRow] = [:]
        for name in order {
            let list = scores[name] ?? []
            let n = Double(max(list.count, 1))
            rows[name] = EvaluationRow(
                name: name, reference: references[name] ?? "rgb",
                psnr: list.map(\.psnr).reduce(0, +) / n, ssim: list.map(\.ssim).reduce(0, +) / n, per_image: list)
        }
        let report = EvaluationReport(
            model: describe.model, dataset: describe.dataset, layout: describe.layout, split: describe.split,
            frames: frames, samples: samples.count,
            seconds_per_sample: samples.isEmpty ? 0 : methodSeconds / Double(samples.count), order: order, rows: rows)
        return (report, previews)
    }

    /// One PNG with a row per preview: blurry | spike TFI | result | ground truth.
    /// - Throws: `ImagingError` naming the path.
    public static func writeSheet(_ previews: [Preview], to url: URL) throws {
        guard let columns = previews.first?.crops.count else { throw DeblurError(url.path, "no samples to show") }
        try ImageFile.writePNG(ContactSheet.make(previews.flatMap(\.crops), columns: columns), to: url)
    }

    /// Writes the Markdown report: the table and, for every preview, a contact sheet
    /// (blurry | spike TFI | result | ground truth) saved as PNG in `NAME_crops/` next to it.
    /// - Throws: `ImagingError` or a file-system error naming the path.
    public static func writeMarkdown(_ report: EvaluationReport, previews: [Preview], to url: URL) throws {
        let stem = url.deletingPathExtension().lastPathComponent
        let cropDir = url.deletingLastPathComponent().appendingPathComponent("\(stem)_crops")
        var text = """
            # Evaluation: \(report.model) on \(report.layout) \(report.split)

            Dataset `\(report.dataset)`, \(report.samples) samples, \(report.frames) spike frames per window, \
            \(String(format: "%.3f", report.seconds_per_sample)) s per sample. Outputs are scored unclamped; \
            `spike_recon` against the grey ground truth.

            \(report.markdownTable())

            """
        if !previews.isEmpty {
            try FileManager.default.createDirectory(at: cropDir, withIntermediateDirectories: true)
            text += "\n## Crops\n\nLeft to right: blurry input, spike TFI, \(report.model) result, ground truth.\n\n"
            for (i, preview) in previews.enumerated() {
                let file = String(format: "%03d.png", i)
                try ImageFile.writePNG(
                    ContactSheet.make(preview.crops, columns: preview.crops.count),
                    to: cropDir.appendingPathComponent(file))
                text += "![\(preview.name)](\(stem)_crops/\(file))  \n`\(preview.name)`\n\n"
            }
        }
        do {
            try text.write(to: url, atomically: true, encoding: .utf8)
        } catch {
            throw DeblurError(url.path, "cannot write report: \(error.localizedDescription)")
        }
    }
}
