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

@Suite struct HandheldMotionTests {
    let image = testPattern(width: 96, height: 80)

    func configuration(motion: MotionModel, sensor: SensorModel = .ideal()) -> MotionBlurSynthesizer.Configuration {
        .init(width: 64, height: 48, sharpFramesPerExposure: 7, motion: motion, sensor: sensor)
    }

    @Test func handheldIsDeterministicAndBlurs() throws {
        let c = configuration(motion: .handheld(width: 64, sharpFrames: 7, maxBlur: 0.2))
        var a = try MotionBlurSynthesizer(
            image: image, width: 96, height: 80, channels: 3, exposures: 2, configuration: c, seed: 11)
        var b = try MotionBlurSynthesizer(
            image: image, width: 96, height: 80, channels: 3, exposures: 2, configuration: c, seed: 11)
        let (ea, eb) = (a.nextExposure(), b.nextExposure())
        #expect(ea.blur == eb.blur && ea.sharp == eb.sharp && ea.spikes == eb.spikes)
        #expect(ea.spikes.count == 56)
        #expect(ea.blur.allSatisfy { $0 >= 0 && $0 <= 1 })
        // Over a few seeds at least one recording moves visibly.
        var moved = false
        for seed in UInt64(1)...6 {
            var s = try MotionBlurSynthesizer(
                image: image, width: 96, height: 80, channels: 3, exposures: 1, configuration: c, seed: seed)
            let e = s.nextExposure()
            if zip(e.blur, e.sharp).map({ abs($0 - $1) }).reduce(0, +) / Float(e.blur.count) > 2e-3 { moved = true }
        }
        #expect(moved)
    }

    @Test func aMovingObjectChangesOnlyPartOfAStillFrame() throws {
        var motion = MotionModel.pan(speed: 0...0)
        motion.objects = 1...1
        motion.objectSpeed = 2...2
        motion.objectSize = 0.3...0.3
        var still = try MotionBlurSynthesizer(
            image: image, width: 96, height: 80, channels: 3, exposures: 1,
            configuration: configuration(motion: .pan(speed: 0...0)), seed: 5)
        var withObject = try MotionBlurSynthesizer(
            image: image, width: 96, height: 80, channels: 3, exposures: 1,
            configuration: configuration(motion: motion),
            seed: 5)
        let (s, o) = (still.nextExposure(), withObject.nextExposure())
        let changed = zip(s.sharp, o.sharp).filter { abs($0 - $1) > 1e-4 }.count
        #expect(changed > 0)
        #expect(changed < s.sharp.count / 2)
        // The object moves, so its exposure is blurred where the still background is not.
        let blurDiff = zip(o.blur, o.sharp).map { abs($0 - $1) }.reduce(0, +)
        #expect(blurDiff > 0)
    }

    @Test func thresholdScaleChangesTheSpikeRate() throws {
        let low = try MotionBlurSynthesizer(
            image: image, width: 96, height: 80, channels: 3, exposures: 1,
            configuration: configuration(motion: .pan(speed: 0...0), sensor: .init(threshold: 1.0)), seed: 2)
        let high = try MotionBlurSynthesizer(
            image: image, width: 96, height: 80, channels: 3, exposures: 1,
            configuration: configuration(motion: .pan(speed: 0...0), sensor: .init(threshold: 4.0)), seed: 2)
        var (l, h) = (low, high)
        let (nl, nh) = (l.nextExposure().spikes.spikeCount, h.nextExposure().spikes.spikeCount)
        #expect(Double(nl) > 3 * Double(nh))
        var varied = configuration(motion: .pan(speed: 0...0), sensor: .varied())
        varied.sensor.spuriousRate = 0...0
        let thresholds = try (UInt64(0)..<8).map { seed in
            try MotionBlurSynthesizer(
                image: image, width: 96, height: 80, channels: 3, exposures: 1, configuration: varied, seed: seed
            ).threshold
        }
        #expect(thresholds.allSatisfy { $0 >= 2.0 * 0.6 - 1e-4 && $0 <= 2.0 * 1.7 + 1e-4 })
        #expect(Set(thresholds).count > 1)
    }

    @Test func rejectsBadMotionAndSensorValues() {
        var c = configuration(motion: .pan())
        c.motion.objects = 0...100
        #expect(throws: DatasetError.self) {
            try MotionBlurSynthesizer(
                image: image, width: 96, height: 80, channels: 3, exposures: 1, configuration: c, seed: 1)
        }
        c = configuration(motion: .pan(), sensor: .init(thresholdScale: 0...1))
        #expect(throws: DatasetError.self) {
            try MotionBlurSynthesizer(
                image: image, width: 96, height: 80, channels: 3, exposures: 1, configuration: c, seed: 1)
        }
        c = configuration(motion: .pan(), sensor: .init(spuriousRate: 0...0.9))
        #expect(throws: DatasetError.self) {
            try MotionBlurSynthesizer(
                image: image, width: 96, height: 80, channels: 3, exposures: 1, configuration: c, seed: 1)
        }
    }
}
