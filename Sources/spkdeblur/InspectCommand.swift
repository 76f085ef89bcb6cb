import ArgumentParser
import Foundation
import Recording

/// `spkdeblur inspect FILE.h5`: what a recording holds.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a recording (.h5): frames, sizes, dtypes, compression, time span, attributes.")

    @Argument(help: "The recording (.h5) to inspect.")
    var file: String

    @Flag(help: "Open as an SWMR reader (for a file still being written).")
    var swmr = false

    func run() throws {
        let reader = try SequenceReader(url: URL(fileURLWithPath: file), swmr: swmr)
        defer { reader.close() }
        let info = try reader.info()
        print("file: \(file)")
        print("frames: \(info.frames)  image: \(info.height)x\(info.width)")
        if let span = info.timeSpanNanoseconds {
            let seconds = Double(span.upperBound - span.lowerBound) / 1e9
            print("time span: \(span.lowerBound) ... \(span.upperBound) ns (\(String(format: "%.6f", seconds)) s)")
        }
        print("datasets:")
        for d in info.datasets {
            let shape = "[" + d.shape.map(String.init).joined(separator: ", ") + "]"
            let chunk = d.chunk.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" } ?? "contiguous"
            let filters = d.filters.isEmpty ? "none" : d.filters.joined(separator: "+")
            let raw = d.shape.reduce(1, *) * Self.size(of: d.elementType)
            let ratio = d.storedBytes > 0 ? String(format: "%.2fx", Double(raw) / Double(d.storedBytes)) : "-"
            print(
                "  /\(d.name)  \(d.elementType) \(shape)  chunks \(chunk)  compression \(filters)  "
                    + "stored \(d.storedBytes) B (\(ratio))")
        }
        print("attributes:")
        for (name, value) in info.attributes {
            let oneLine = value.replacingOccurrences(of: "\n", with: "\\n")
            let shown = oneLine.count > 100 ? String(oneLine.prefix(97)) + "..." : oneLine
            print("  \(name) = \(shown)")
        }
    }

    static func size(of type: String) -> Int {
        switch type {
        case "uint8": 1
        case "uint16", "float16": 2
        case "float32": 4
        default: 8
        }
    }
}
