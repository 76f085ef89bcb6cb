import ArgumentParser
import Foundation
import HDF5
import SpikeCore

/// `spkdeblur reconstruct`: intensity images (or raw frames) from a `.dat` recording into HDF5.
struct ReconstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconstruct",
        abstract: "Reconstruct intensity from a spike recording into HDF5.",
        discussion: """
            --method tfi writes /recon [N,H,W] float32 = middleTFI at each centre (without the \
            training convention's /0.5); tfp writes the firing rate over the window around each \
            centre; raw writes the decoded frames as /spikes [T,H,W] uint8.
            """)

    enum Method: String, ExpressibleByArgument, CaseIterable { case tfi, tfp, raw }

    @Argument(help: "The .dat recording.") var file: String
    @OptionGroup var sensor: SpikeGeometryOptions
    @Option(help: "tfi, tfp or raw.") var method: Method = .tfi
    @Option(help: "Comma-separated spike frame indices (tfi/tfp).", transform: ReconstructCommand.parseCenters)
    var centers: [Int] = []
    @Option(help: "TFI/TFP window (frames each side, 1...100000).") var window = 50
    @Option(help: "raw: first frame.") var start = 0
    @Option(help: "raw: number of frames (default: to the end).") var count: Int?
    @Option(help: "Output HDF5 file.") var out: String

    static func parseCenters(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { part in
            guard let v = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--centers: '\(part)' is not an integer")
            }
            return v
        }
    }

    func validate() throws {
        if method != .raw && centers.isEmpty {
            throw ValidationError("--centers is required for --method \(method.rawValue)")
        }
        if !(1...100_000).contains(window) { throw ValidationError("--window \(window) must be in 1...100000") }
    }

    func run() throws {
        let input = URL(fileURLWithPath: file).resolvingSymlinksInPath().standardized.path
        guard URL(fileURLWithPath: out).resolvingSymlinksInPath().standardized.path != input else {
            throw RunError("--out \(out) is the input file; choose another name (the input would be destroyed)")
        }
        let geometry = try sensor.geometry()
        let dat = try DatFile(path: file, geometry: geometry)
        let (h, w) = (geometry.height, geometry.width)
        try File.withCreated(path: out) { hdf in
            switch method {
            case .raw:
                let n = count ?? max(dat.frameCount - start, 0)
                let frames = try dat.read(start..<(start + n)).unpacked()
                let ds = try hdf.root.createDataset(
                    "spikes", type: .uint8, shape: [n, h, w], chunk: n > 0 ? [1, h, w] : nil,
                    filters: n > 0 ? [.deflate(level: 1)] : [])
                if n > 0 { try ds.write(frames.values, start: [0, 0, 0], count: [n, h, w]) }
            case .tfi, .tfp:
                let ds = try hdf.root.createDataset(
                    "recon", type: .float32, shape: [centers.count, h, w],
                    chunk: [1, h, w], filters: [.deflate(level: 1)])
                for (i, c) in centers.enumerated() {
                    guard c >= 0, c < dat.frameCount else {
                        throw ValidationError("\(file): centre \(c) is outside the \(dat.frameCount) frames")
                    }
                    // Read from c - window so that relative index 0 is never inside the left
                    // scan unless it is the file's frame 0 (where the reference's index-0
                    // quirk really applies).
                    let lo = max(c - window, 0)
                    let hi = min(c + window + 1, dat.frameCount)
                    let frames = try dat.read(lo..<hi)
                    let image =
                        method == .tfi
                        ? TFI.middle(frames, middle: c - lo, window: window)
                        : TFP.middle(frames, middle: c - lo, window: window)
                    try ds.write(image, start: [i, 0, 0], count: [1, h, w])
                }
                try hdf.root.setAttribute("centers", .int64Array(centers.map { Int64($0) }))
                try hdf.root.setAttribute("window", .int64(Int64(window)))
            }
            try hdf.root.setAttribute("method", .string(method.rawValue))
            try hdf.root.setAttribute("source", .string(URL(fileURLWithPath: file).lastPathComponent))
        }
        print("\(out): wrote \(method == .raw ? "/spikes" : "/recon") from \(dat.frameCount) frames of \(geometry)")
    }
}
