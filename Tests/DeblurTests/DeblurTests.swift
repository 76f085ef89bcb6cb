import Foundation
import SpikeCore
import Tensor
import Testing

@testable import Deblur

/// A moving scene: grey-level texture sliding horizontally, rendered at `shift` pixels.
private func scene(width: Int, height: Int, shift: Float) -> FeatureMap {
    var m = FeatureMap(height: height, width: width, channels: 3)
    for y in 0..<height {
        for x in 0..<width {
            let u = Float(x) + shift
            let v = 0.5 + 0.35 * sinf(u * 0.45) * cosf(Float(y) * 0.3) + 0.1 * (Int(u / 6) % 2 == 0 ? 1 : -1)
            m[y, x, 0] = v
            m[y, x, 1] = 0.8 * v + 0.1
            m[y, x, 2] = 0.6 * v + 0.2
        }
    }
    return m
}

private func psnr(_ a: FeatureMap, _ b: FeatureMap) -> Double {
    var mse = 0.0
    for i in 0..<a.data.count { let d = Double(a.data[i] - b.data[i]); mse += d * d }
    return 10 * log10(1 / (mse / Double(a.data.count)))
}

/// Blurry frame, spike window and ground truth for a texture moving `speed` px per spike frame.
private func exposure(width: Int = 64, height: Int = 48, frames: Int = 56, speed: Float = 0.25) throws -> (
    DeblurInput, FeatureMap
) {
    let g = try SpikeGeometry(height: height / 2, width: width / 2)
    var sim = try IntegrateAndFireSimulator(geometry: g, threshold: 1, seed: 5)
    var packed = PackedSpikeFrames(geometry: g)
    var blur = FeatureMap(height: height, width: width, channels: 3)
    for t in 0..<frames {
        let s = scene(width: width, height: height, shift: Float(t) * speed)
        for i in 0..<blur.data.count { blur.data[i] += s.data[i] / Float(frames) }
        var grey = [Float](repeating: 0, count: width * height)
        for p in 0..<grey.count {
            grey[p] = 0.299 * s.data[3 * p] + 0.587 * s.data[3 * p + 1] + 0.114 * s.data[3 * p + 2]
        }
        packed.append(contentsOf: sim.step(grey: AreaResample.downsample2x(grey, width: width, height: height)))
    }
    let truth = scene(width: width, height: height, shift: Float(frames / 2) * speed)
    return (DeblurInput(blur: blur, spikes: packed), truth)
}

@Test func classicalBaselineBeatsTheBlurryInput() throws {
    let (input, truth) = try exposure()
    let result = try ClassicalDeblurrer().deblur(input)
    let before = psnr(input.blur, truth)
    let after = psnr(result.sharp, truth)
    print("classical baseline on a moving texture: blurry \(before) dB -> \(after) dB")
    #expect(after > before + 3)
    #expect(result.spikeRecon?.channels == 1)
}

@Test func passthroughReturnsTheInput() throws {
    let (input, _) = try exposure(frames: 8)
    #expect(try PassthroughDeblurrer().deblur(input).sharp == input.blur)
}

@Test func sizeMismatchIsNamed() throws {
    let (input, _) = try exposure(frames: 8)
    var bad = input
    bad.blur = FeatureMap(height: 10, width: 10, channels: 3)
    let error = #expect(throws: DeblurError.self) { try ClassicalDeblurrer().deblur(bad) }
    #expect(error?.description.contains("twice the spike resolution 24x32") == true)
}
