import Foundation
import ImageCodecs
import Imaging
import SpikeCore

/// A small synthetic recording in the Spk-GoPro layout: `exposures` blurry PNGs and one
/// `.dat` of `framesPerExposure` spike frames each, of a texture sliding to the right.
struct SyntheticRecording {
    let root: URL
    let exposures: Int
    let framesPerExposure: Int
    let geometry: SpikeGeometry
    var spikeDirectory: URL { root.appendingPathComponent("spike") }
    var imageDirectory: URL { root.appendingPathComponent("blur_gamma") }

    init(exposures: Int, framesPerExposure: Int = 16, height: Int = 32, width: Int = 48) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("stages-\(UUID().uuidString)")
        self.exposures = exposures
        self.framesPerExposure = framesPerExposure
        geometry = try SpikeGeometry(height: height / 2, width: width / 2)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("spike"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("blur_gamma"), withIntermediateDirectories: true)
        var sim = try IntegrateAndFireSimulator(geometry: geometry, threshold: 2, seed: 3)
        for e in 0..<exposures {
            var blur = Image(width: width, height: height, channels: 3)
            let writer = try DatWriter(
                path: spikeDirectory.appendingPathComponent(String(format: "%06d.dat", e)).path, geometry: geometry)
            for t in 0..<framesPerExposure {
                let shift = Float(e * framesPerExposure + t) * 0.2
                var grey = [Float](repeating: 0, count: width * height)
                for y in 0..<height {
                    for x in 0..<width {
                        let v = 0.5 + 0.4 * sinf((Float(x) + shift) * 0.5) * cosf(Float(y) * 0.3)
                        grey[y * width + x] = v
                        for c in 0..<3 { blur[x, y, c] += v / Float(framesPerExposure) }
                    }
                }
                try writer.append(sim.step(grey: AreaResample.downsample2x(grey, width: width, height: height)))
            }
            try writer.close()
            try ImageFile.writePNG(blur, to: imageDirectory.appendingPathComponent(String(format: "%06d.png", e)))
        }
    }

    /// A pipeline description replaying this recording into `output`.
    func pipeline(
        output: String, model: String = "passthrough", speed: String = "max", rateHz: Int = 20_000,
        policy: String = "block"
    ) -> String {
        """
        pipeline: test
        clock: {speed: \(speed)}
        stages:
          spikes: {kind: spike-file, path: \(spikeDirectory.path), height: \(geometry.height), width: \(geometry.width), rate_hz: \(rateHz), batch: 7}
          rgb: {kind: rgb-folder, path: \(imageDirectory.path), exposure_spike_frames: \(framesPerExposure), rate_hz: \(rateHz)}
          windows:
            kind: exposure-window
            frames: \(framesPerExposure)
            rate_hz: \(rateHz)
            inputs: {spikes: spikes.frames, exposures: rgb.frames}
          sync: {kind: rgb-sync, inputs: {windows: windows, rgb: rgb}}
          deblur: {kind: deblur, model: \(model), inputs: {fused: {from: sync, capacity: 2, policy: \(policy)}}}
          sink: {kind: hdf5-sink, path: \(output), store_blur: true, inputs: {frames: deblur}}
        """
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}
