import ArgumentParser
import Foundation
import ImageCodecs
import Imaging
import Recording

/// `spkdeblur export FILE.h5 --frames a:b --out DIR`: PNGs of `/sharp` frames and a contact sheet.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write frames of a recording's /sharp as PNGs, plus a contact sheet.")

    @Argument(help: "The recording (.h5).")
    var file: String

    @Option(help: "Frames to export, a:b (b excluded; either side may be left out), or one index.")
    var frames: String = ":"

    @Option(help: "Output directory (created if missing).")
    var out: String

    @Option(help: "Dataset to export: sharp, quick_sharp, blur or spike_recon.")
    var dataset: String = "sharp"

    @Option(help: "Frames shown in the contact sheet at most (evenly spaced; 1...10000).")
    var sheetFrames: Int = 36

    @Option(help: "Contact sheet cells are scaled down by this factor (1...1024).")
    var sheetScale: Int = 2

    func validate() throws {
        guard ImageDataset(rawValue: dataset) != nil else {
            throw ValidationError("--dataset must be sharp, quick_sharp, blur or spike_recon, not '\(dataset)'")
        }
        guard (1...10_000).contains(sheetFrames), (1...1024).contains(sheetScale) else {
            throw ValidationError("--sheet-frames must be in 1...10000 and --sheet-scale in 1...1024")
        }
        _ = try Self.parseRange(frames, count: Int.max)
    }

    /// Parses `a:b`, `a:`, `:b`, `:` or `i` against `count` frames.
    static func parseRange(_ text: String, count: Int) throws -> Range<Int> {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func number(_ s: String, _ fallback: Int) throws -> Int {
            if s.isEmpty { return fallback }
            guard let v = Int(s), v >= 0 else { throw ValidationError("--frames: '\(s)' is not a frame index") }
            return v
        }
        switch parts.count {
        case 1:
            let i = try number(parts[0], 0)
            guard i < Int.max else { throw ValidationError("--frames: '\(parts[0])' is not a frame index") }
            return i..<(i + 1)
        case 2:
            let a = try number(parts[0], 0)
            let b = try number(parts[1], count)
            guard a <= b else { throw ValidationError("--frames: start \(a) is after end \(b)") }
            return a..<b
        default:
            throw ValidationError("--frames must look like a:b, not '\(text)'")
        }
    }

    func run() throws {
        let kind = ImageDataset(rawValue: dataset) ?? .sharp
        let reader = try SequenceReader(url: URL(fileURLWithPath: file))
        defer { reader.close() }
        let info = try reader.info()
        let available = info.datasets.first { $0.name == kind.rawValue }?.shape.first ?? 0
        guard info.datasets.contains(where: { $0.name == kind.rawValue }) else {
            throw RecordingError(file: file, stage: "export", message: "no /\(kind.rawValue) dataset")
        }
        let range = try Self.parseRange(frames, count: available)
        guard range.upperBound <= available else {
            throw RecordingError(
                file: file, stage: "export",
                message: "--frames \(frames) is beyond the \(available) frames of /\(kind.rawValue)")
        }
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let step = max(1, (range.count + sheetFrames - 1) / sheetFrames)
        var cells: [Image] = []
        for index in range {
            let image = try reader.image(index, of: kind)
            try ImageFile.writePNG(image, to: dir.appendingPathComponent(String(format: "frame_%06d.png", index)))
            if (index - range.lowerBound) % step == 0 && cells.count < sheetFrames {
                cells.append(sheetScale > 1 ? image.downsampledArea(by: sheetScale) : image)
            }
        }
        if !cells.isEmpty {
            let columns = Int(Double(cells.count).squareRoot().rounded(.up))
            let sheet = ContactSheet.make(cells, columns: columns)
            try ImageFile.writePNG(sheet, to: dir.appendingPathComponent("contact_sheet.png"))
        }
        print("exported \(range.count) frames of /\(kind.rawValue) and contact_sheet.png to \(out)")
    }
}
