import Foundation
import SpikeCore
import Testing

@testable import Datasets

/// A smooth test pattern, HWC RGB in [0, 1].
func testPattern(width: Int, height: Int) -> [Float] {
    var out = [Float](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let p = (y * width + x) * 3
            out[p] = 0.2 + 0.6 * Float(x) / Float(width)
            out[p + 1] = 0.2 + 0.6 * Float(y) / Float(height)
            out[p + 2] = 0.5 + 0.3 * sinf(Float(x + y) * 0.2)
        }
    }
    return out
}

@Suite struct SynthesizerTests {
    let configuration = MotionBlurSynthesizer.Configuration(width: 32, height: 32, sharpFramesPerExposure: 7)

    @Test func sameSeedSameExposure() throws {
        let image = testPattern(width: 48, height: 40)
        var a = try MotionBlurSynthesizer(
            image: image, width: 48, height: 40, channels: 3, exposures: 2, configuration: configuration, seed: 1)
        var b = try MotionBlurSynthesizer(
            image: image, width: 48, height: 40, channels: 3, exposures: 2, configuration: configuration, seed: 1)
        var c = try MotionBlurSynthesizer(
            image: image, width: 48, height: 40, channels: 3, exposures: 2, configuration: configuration, seed: 2)
        let ea = a.nextExposure()
        let eb = b.nextExposure()
        let ec = c.nextExposure()
        #expect(ea.blur == eb.blur && ea.sharp == eb.sharp && ea.spikes == eb.spikes)
        #expect(ea.spikes != ec.spikes)
        #expect(ea.spikes.count == 56)
        #expect(ea.spikes.geometry == (try SpikeGeometry(height: 16, width: 16)))
        #expect(ea.blur.count == 32 * 32 * 3)
        // A moving camera blurs: the blurry frame differs from the sharp one.
        let diff = zip(ea.blur, ea.sharp).map { abs($0 - $1) }.reduce(0, +) / Float(ea.blur.count)
        #expect(diff > 1e-3)
    }

    @Test func staticCameraSpikesEncodeTheGreyLevel() throws {
        var still = configuration
        still.speed = 0...0
        let image = testPattern(width: 32, height: 32)
        var synth = try MotionBlurSynthesizer(
            image: image, width: 32, height: 32, channels: 3, exposures: 1, configuration: still, seed: 3)
        let exposure = synth.nextExposure()
        #expect(exposure.blur.count == exposure.sharp.count)
        for i in stride(from: 0, to: exposure.blur.count, by: 17) {
            #expect(abs(exposure.blur[i] - exposure.sharp[i]) < 1e-5)
        }
        // Threshold 2 + the training /0.5: the TFI is the half-resolution grey level.
        let tfi = TFI.trainingInput(exposure.spikes)
        let grey = AreaResample.downsample2x(
            GreyImage.fromRGB(image, width: 32, height: 32, channels: 3), width: 32, height: 32)
        let error = zip(tfi, grey).map { abs($0 - $1) }.reduce(0, +) / Float(grey.count)
        #expect(error < 0.06)
    }

    @Test func rejectsBadConfigurations() {
        let image = testPattern(width: 8, height: 8)
        var even = configuration
        even.sharpFramesPerExposure = 8
        #expect(throws: DatasetError.self) {
            try MotionBlurSynthesizer(
                image: image, width: 8, height: 8, channels: 3, exposures: 1, configuration: even, seed: 1)
        }
        #expect(throws: DatasetError.self) {
            try MotionBlurSynthesizer(
                image: image, width: 9, height: 8, channels: 3, exposures: 1, configuration: configuration, seed: 1)
        }
        var odd = configuration
        odd.width = 30  // 15x16 spikes: 240 pixels, fine; 30x30 -> 15x15 = 225 is not
        odd.height = 30
        #expect(throws: DatasetError.self) {
            try MotionBlurSynthesizer(
                image: image, width: 8, height: 8, channels: 3, exposures: 1, configuration: odd, seed: 1)
        }
    }
}
