import Foundation
import SpikeCore

/// Synthesises Spk-GoPro-style exposures from one sharp image: a camera that pans over the
/// image at a random constant speed and direction, oversampled in time.
///
/// Timing (in sharp-frame units): exposure `e` averages `N = sharpFramesPerExposure` sharp
/// frames rendered at `t = e*N + k`, `k = 0..<N`; the ground truth is the middle one
/// (`k = N/2`, N odd). The spike camera runs `spikeFramesPerSharpFrame` (8) times faster:
/// spike frame `j` of the exposure sees the scene at `t = e*N + (j + 0.5)/8 - 0.5`, so the
/// 8 spike frames of sharp frame `k` are centred on it and the exposure's `8N` spike frames
/// are centred on the ground truth (a centred T = 56 window is the whole stream for N = 7).
/// Spikes come from `IntegrateAndFireSimulator` at half resolution on the OpenCV-style grey
/// level (8-bit quantised, 2x2 area-averaged); its state carries over between exposures, as
/// one continuous recording.
public struct MotionBlurSynthesizer: Sendable {
    /// What to synthesise.
    public struct Configuration: Sendable, Hashable {
        /// Output RGB width (spikes are half of it); even, and width*height/4 a multiple of 8.
        public var width: Int
        /// Output RGB height.
        public var height: Int
        /// Sharp frames averaged per blurry frame (odd; GoPro uses 7 to 13).
        public var sharpFramesPerExposure: Int
        /// Spike frames per sharp frame.
        public var spikeFramesPerSharpFrame: Int
        /// Integrate-and-fire threshold.
        public var threshold: Float
        /// Camera speed range, output pixels per sharp frame.
        public var speed: ClosedRange<Float>

        public init(
            width: Int = 256, height: Int = 256, sharpFramesPerExposure: Int = 7, spikeFramesPerSharpFrame: Int = 8,
            threshold: Float = 2.0, speed: ClosedRange<Float> = 0.5...2.5
        ) {
            self.width = width
            self.height = height
            self.sharpFramesPerExposure = sharpFramesPerExposure
            self.spikeFramesPerSharpFrame = spikeFramesPerSharpFrame
            self.threshold = threshold
            self.speed = speed
        }
    }

    /// One synthesised exposure.
    public struct Exposure: Sendable {
        /// Blurry RGB, HWC, `[height * width * 3]` in [0, 1]: the mean of the sharp frames.
        public let blur: [Float]
        /// Sharp ground truth RGB (the middle sharp frame), HWC.
        public let sharp: [Float]
        /// The exposure's spike frames (`N * 8` of them), half resolution.
        public let spikes: PackedSpikeFrames
    }

    /// The configuration in use.
    public let configuration: Configuration
    /// The spike frame size (half the output size).
    public let spikeGeometry: SpikeGeometry
    /// Camera velocity, output pixels per sharp frame.
    public let velocity: (x: Float, y: Float)

    private let source: [Float]  // RGB, HWC
    private let sourceGrey: [Float]
    private let sourceWidth: Int
    private let sourceHeight: Int
    private let magnification: Float
    private let origin: (x: Float, y: Float)
    private var simulator: IntegrateAndFireSimulator
    private var exposureIndex = 0

    /// Prepares a pan over `image` long enough for `exposures` exposures.
    /// - Parameters:
    ///   - image: HWC values in [0, 1] with 1, 3 or 4 channels.
    /// - Throws: `DatasetError.invalidParameter` for an unusable configuration or image.
    public init(
        image: [Float], width: Int, height: Int, channels: Int, exposures: Int,
        configuration: Configuration = Configuration(), seed: UInt64
    ) throws(DatasetError) {
        let c = configuration
        guard [1, 3, 4].contains(channels), width > 0, height > 0, image.count == width * height * channels else {
            throw .invalidParameter(
                name: "image", problem: "expected \(width)x\(height) with 1, 3 or 4 channels, got \(image.count) values"
            )
        }
        guard c.width >= 2, c.height >= 2, c.width % 2 == 0, c.height % 2 == 0 else {
            throw .invalidParameter(
                name: "output size", problem: "\(c.width)x\(c.height) must be even and at least 2x2")
        }
        guard c.sharpFramesPerExposure >= 1, c.sharpFramesPerExposure % 2 == 1 else {
            throw .invalidParameter(
                name: "sharpFramesPerExposure", problem: "must be odd and positive, got \(c.sharpFramesPerExposure)")
        }
        guard c.spikeFramesPerSharpFrame >= 1, exposures >= 1 else {
            throw .invalidParameter(
                name: "exposures", problem: "need at least one exposure and one spike frame per sharp frame")
        }
        guard c.speed.lowerBound >= 0, c.speed.upperBound.isFinite else {
            throw .invalidParameter(name: "speed", problem: "must be a finite, non-negative range")
        }
        do throws(SpikeError) {
            spikeGeometry = try SpikeGeometry(height: c.height / 2, width: c.width / 2)
            simulator = try IntegrateAndFireSimulator(geometry: spikeGeometry, threshold: c.threshold, seed: seed)
        } catch {
            throw .invalidParameter(name: "spike simulation", problem: error.description)
        }
        self.configuration = c
        var rng = SplitMix64(seed: seed ^ 0x5EED_0F_CA11_7A)
        let angle = rng.nextUnitFloat() * 2 * Float.pi
        let speed = c.speed.lowerBound + rng.nextUnitFloat() * (c.speed.upperBound - c.speed.lowerBound)
        velocity = (speed * cosf(angle), speed * sinf(angle))

        // RGB copy of the source and its grey level (bilinear sampling commutes with the
        // linear grey conversion, so the grey image is sampled directly for spikes).
        var rgb = [Float](repeating: 0, count: width * height * 3)
        for p in 0..<(width * height) {
            for ch in 0..<3 { rgb[3 * p + ch] = image[p * channels + (channels == 1 ? 0 : ch)] }
        }
        source = rgb
        sourceGrey = GreyImage.fromRGB(rgb, width: width, height: height, channels: 3)
        sourceWidth = width
        sourceHeight = height

        // Magnify the image when the whole pan does not fit in it.
        let duration = Float(exposures * c.sharpFramesPerExposure)
        let spanX = Float(c.width) + abs(velocity.x) * duration + 2
        let spanY = Float(c.height) + abs(velocity.y) * duration + 2
        magnification = max(1, spanX / Float(width), spanY / Float(height))
        let canvasW = Float(width) * magnification
        let canvasH = Float(height) * magnification
        // Start so the pan stays inside the (magnified) image, random along the free room.
        let roomX = max(0, canvasW - spanX)
        let roomY = max(0, canvasH - spanY)
        let startX = 1 + (velocity.x < 0 ? abs(velocity.x) * duration : 0) + rng.nextUnitFloat() * roomX
        let startY = 1 + (velocity.y < 0 ? abs(velocity.y) * duration : 0) + rng.nextUnitFloat() * roomY
        origin = (startX, startY)
    }

    /// Renders the next exposure of the pan.
    public mutating func nextExposure() -> Exposure {
        let c = configuration
        let n = c.sharpFramesPerExposure
        let base = Float(exposureIndex * n)
        var blur = [Float](repeating: 0, count: c.width * c.height * 3)
        var sharp: [Float] = []
        for k in 0..<n {
            let frame = renderRGB(time: base + Float(k))
            for i in 0..<blur.count { blur[i] += frame[i] }
            if k == n / 2 { sharp = frame }
        }
        let scale = 1 / Float(n)
        for i in 0..<blur.count { blur[i] *= scale }

        var spikes = PackedSpikeFrames(geometry: spikeGeometry)
        let steps = n * c.spikeFramesPerSharpFrame
        let perSharp = Float(c.spikeFramesPerSharpFrame)
        for j in 0..<steps {
            let t = base + (Float(j) + 0.5) / perSharp - 0.5
            // OpenCV-style: 8-bit grey at full resolution, 2x2 area average, 8-bit again.
            let grey = GreyImage.quantized(renderGrey(time: t))
            let half = GreyImage.quantized(AreaResample.downsample2x(grey, width: c.width, height: c.height))
            spikes.append(contentsOf: simulator.step(grey: half))
        }
        exposureIndex += 1
        return Exposure(blur: blur, sharp: sharp, spikes: spikes)
    }

    // MARK: rendering

    private func renderRGB(time: Float) -> [Float] {
        render(time: time, channels: 3, values: source)
    }

    private func renderGrey(time: Float) -> [Float] {
        render(time: time, channels: 1, values: sourceGrey)
    }

    /// Bilinear sampling (pixel centres at +0.5, edges clamped) of the output window at `time`.
    private func render(time: Float, channels: Int, values: [Float]) -> [Float] {
        let c = configuration
        let offsetX = origin.x + velocity.x * time
        let offsetY = origin.y + velocity.y * time
        let inverse = 1 / magnification
        let maxX = Float(sourceWidth - 1)
        let maxY = Float(sourceHeight - 1)
        var out = [Float](repeating: 0, count: c.width * c.height * channels)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<c.height {
                    let sy = min(max((Float(y) + offsetY + 0.5) * inverse - 0.5, 0), maxY)
                    let y0 = Int(sy)
                    let y1 = min(y0 + 1, sourceHeight - 1)
                    let fy = sy - Float(y0)
                    for x in 0..<c.width {
                        let sx = min(max((Float(x) + offsetX + 0.5) * inverse - 0.5, 0), maxX)
                        let x0 = Int(sx)
                        let x1 = min(x0 + 1, sourceWidth - 1)
                        let fx = sx - Float(x0)
                        let w00 = (1 - fx) * (1 - fy)
                        let w01 = fx * (1 - fy)
                        let w10 = (1 - fx) * fy
                        let w11 = fx * fy
                        let i00 = (y0 * sourceWidth + x0) * channels
                        let i01 = (y0 * sourceWidth + x1) * channels
                        let i10 = (y1 * sourceWidth + x0) * channels
                        let i11 = (y1 * sourceWidth + x1) * channels
                        let o = (y * c.width + x) * channels
                        for ch in 0..<channels {
                            dst[o + ch] =
                                w00 * src[i00 + ch] + w01 * src[i01 + ch] + w10 * src[i10 + ch] + w11 * src[i11 + ch]
                        }
                    }
                }
            }
        }
        return out
    }
}
