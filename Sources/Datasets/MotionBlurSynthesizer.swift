import Foundation
import SpikeCore

/// Synthesises Spk-GoPro-style exposures from one sharp image: a virtual camera moving over
/// the image (`MotionModel`: pan, hand-held shake, rotation, zoom, independently moving
/// objects), oversampled in time, seen by a spike sensor (`SensorModel`).
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
///
/// Geometry: output pixel centre `p` (relative to the frame centre) maps to the canvas point
/// `c(t) + z(t) R(a(t)) p`, where the canvas is the source image magnified just enough that
/// every point the whole recording samples lies inside it.
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
        /// Camera and scene motion.
        public var motion: MotionModel
        /// The spike sensor.
        public var sensor: SensorModel

        /// Integrate-and-fire threshold (the sensor's nominal one).
        public var threshold: Float {
            get { sensor.threshold }
            set { sensor.threshold = newValue }
        }
        /// Camera pan speed range, output pixels per sharp frame.
        public var speed: ClosedRange<Float> {
            get { motion.speed }
            set { motion.speed = newValue }
        }

        public init(
            width: Int = 256, height: Int = 256, sharpFramesPerExposure: Int = 7, spikeFramesPerSharpFrame: Int = 8,
            threshold: Float = 2.0, speed: ClosedRange<Float> = 0.5...2.5
        ) {
            self.init(
                width: width, height: height, sharpFramesPerExposure: sharpFramesPerExposure,
                spikeFramesPerSharpFrame: spikeFramesPerSharpFrame, motion: .pan(speed: speed),
                sensor: .ideal(threshold: threshold))
        }

        public init(
            width: Int, height: Int, sharpFramesPerExposure: Int = 7, spikeFramesPerSharpFrame: Int = 8,
            motion: MotionModel, sensor: SensorModel
        ) {
            self.width = width
            self.height = height
            self.sharpFramesPerExposure = sharpFramesPerExposure
            self.spikeFramesPerSharpFrame = spikeFramesPerSharpFrame
            self.motion = motion
            self.sensor = sensor
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

    /// The camera path: centre, rotation and zoom as functions of time.
    struct Trajectory: Sendable {
        var origin: (x: Float, y: Float) = (0, 0)
        var velocity: (x: Float, y: Float)
        var shake: [(amplitude: Float, frequency: Float, phase: Float, axis: Int)]
        var rotationSpeed: Float
        var rotationShake: (amplitude: Float, frequency: Float, phase: Float)
        var zoomRate: Float

        func centre(_ t: Float) -> (x: Float, y: Float) {
            var x = origin.x + velocity.x * t
            var y = origin.y + velocity.y * t
            for s in shake {
                let d = s.amplitude * sinf(s.frequency * t + s.phase)
                if s.axis == 0 { x += d } else { y += d }
            }
            return (x, y)
        }

        /// Zoom times (cos, sin) of the rotation at `t`.
        func linear(_ t: Float) -> (a: Float, b: Float) {
            let angle =
                rotationSpeed * t + rotationShake.amplitude
                * (sinf(rotationShake.frequency * t + rotationShake.phase) - sinf(rotationShake.phase))
            let zoom = expf(zoomRate * t)
            return (zoom * cosf(angle), zoom * sinf(angle))
        }
    }

    /// An elliptical patch of the scene moving across the frame on its own.
    struct MovingObject: Sendable {
        var position: (x: Float, y: Float)  // centre at t = 0, output pixels
        var velocity: (x: Float, y: Float)
        var radius: (x: Float, y: Float)
        var texture: (x: Float, y: Float)  // canvas point shown at the object's centre
        var gain: Float
    }

    /// The configuration in use.
    public let configuration: Configuration
    /// The spike frame size (half the output size).
    public let spikeGeometry: SpikeGeometry
    /// Camera pan velocity, output pixels per sharp frame.
    public var velocity: (x: Float, y: Float) { trajectory.velocity }
    /// The threshold this recording's sensor uses (nominal times the drawn scale).
    public let threshold: Float

    private let source: [Float]  // RGB, HWC
    private let sourceGrey: [Float]
    private let sourceWidth: Int
    private let sourceHeight: Int
    private let magnification: Float
    private let trajectory: Trajectory
    private let objects: [MovingObject]
    private var simulator: IntegrateAndFireSimulator
    private var exposureIndex = 0

    /// Prepares a recording over `image` long enough for `exposures` exposures.
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
        guard c.width >= 2, c.height >= 2, c.width % 2 == 0, c.height % 2 == 0, c.width <= 1 << 15,
            c.height <= 1 << 15
        else {
            throw .invalidParameter(
                name: "output size", problem: "\(c.width)x\(c.height) must be even, at least 2x2 and at most 32768")
        }
        guard c.sharpFramesPerExposure >= 1, c.sharpFramesPerExposure % 2 == 1, c.sharpFramesPerExposure <= 999 else {
            throw .invalidParameter(
                name: "sharpFramesPerExposure", problem: "must be odd, 1...999, got \(c.sharpFramesPerExposure)")
        }
        guard c.spikeFramesPerSharpFrame >= 1, c.spikeFramesPerSharpFrame <= 1000, exposures >= 1,
            exposures <= 1_000_000
        else {
            throw .invalidParameter(
                name: "exposures", problem: "need 1...1000000 exposures and 1...1000 spike frames per sharp frame")
        }
        try c.motion.validate()
        try c.sensor.validate()
        var rng = SplitMix64(seed: seed ^ 0x5EED_0F_CA11_7A)
        let m = c.motion
        let angle = rng.nextUnitFloat() * 2 * Float.pi
        let speed = rng.uniform(m.speed)
        var path = Trajectory(
            velocity: (speed * cosf(angle), speed * sinf(angle)), shake: [], rotationSpeed: 0,
            rotationShake: (0, 0, 0), zoomRate: 0)
        if m.shakeAmplitude.upperBound > 0 {
            for axis in 0..<2 {
                let total = rng.uniform(m.shakeAmplitude)
                let split = 0.3 + 0.4 * rng.nextUnitFloat()
                for part in [split, 1 - split] {
                    let period = rng.uniform(m.shakePeriod)
                    path.shake.append((total * part, 2 * Float.pi / period, rng.nextUnitFloat() * 2 * Float.pi, axis))
                }
            }
        }
        if m.rotationSpeed > 0 { path.rotationSpeed = rng.sign() * rng.nextUnitFloat() * m.rotationSpeed }
        if m.rotationShake > 0 {
            path.rotationShake = (
                rng.nextUnitFloat() * m.rotationShake, 2 * Float.pi / rng.uniform(m.shakePeriod),
                rng.nextUnitFloat() * 2 * Float.pi
            )
        }
        if m.zoomSpeed > 0 { path.zoomRate = rng.sign() * rng.nextUnitFloat() * m.zoomSpeed }

        let sensorScale = expf(
            rng.uniform(logf(c.sensor.thresholdScale.lowerBound)...logf(c.sensor.thresholdScale.upperBound)))
        threshold = c.sensor.threshold * sensorScale
        let spuriousRate = rng.uniform(c.sensor.spuriousRate)
        do throws(SpikeError) {
            spikeGeometry = try SpikeGeometry(height: c.height / 2, width: c.width / 2)
            simulator = try IntegrateAndFireSimulator(
                geometry: spikeGeometry, threshold: threshold, thresholdSpread: c.sensor.thresholdSpread,
                spuriousRate: spuriousRate, seed: seed)
        } catch {
            throw .invalidParameter(name: "spike simulation", problem: error.description)
        }
        self.configuration = c

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

        // Every canvas point the recording samples (frame corners, a quarter frame apart),
        // relative to the start: the canvas is magnified until that box fits, and the start
        // is placed at random in the room left.
        let duration = Float(exposures * c.sharpFramesPerExposure)
        let (hw, hh) = (Float(c.width) / 2, Float(c.height) / 2)
        var (minX, maxX, minY, maxY) = (Float.infinity, -Float.infinity, Float.infinity, -Float.infinity)
        var t: Float = -1
        while t <= duration + 1 {
            let centre = path.centre(t)
            let (a, b) = path.linear(t)
            for (u, v) in [(-hw, -hh), (hw, -hh), (-hw, hh), (hw, hh)] {
                let x = centre.x + a * u - b * v
                let y = centre.y + b * u + a * v
                (minX, maxX, minY, maxY) = (min(minX, x), max(maxX, x), min(minY, y), max(maxY, y))
            }
            t += 0.25
        }
        let spanX = maxX - minX + 2
        let spanY = maxY - minY + 2
        magnification = max(1, spanX / Float(width), spanY / Float(height))
        let canvasW = Float(width) * magnification
        let canvasH = Float(height) * magnification
        path.origin = (
            1 - minX + rng.nextUnitFloat() * max(0, canvasW - spanX),
            1 - minY + rng.nextUnitFloat() * max(0, canvasH - spanY)
        )
        trajectory = path

        // Objects: start anywhere in the frame, move on their own, show another part of the
        // scene at a slightly different brightness.
        var objects: [MovingObject] = []
        let count = m.objects.upperBound > 0 ? rng.uniform(m.objects) : 0
        let side = Float(min(c.width, c.height))
        for _ in 0..<count {
            let diameter = rng.uniform(m.objectSize) * side
            let aspect = 0.6 + 0.8 * rng.nextUnitFloat()
            let radius = (max(2, diameter / 2 * aspect.squareRoot()), max(2, diameter / 2 / aspect.squareRoot()))
            let heading = rng.nextUnitFloat() * 2 * Float.pi
            let objectSpeed = rng.uniform(m.objectSpeed)
            let rMax = max(radius.0, radius.1)
            let tx = rMax + rng.nextUnitFloat() * max(0, canvasW - 2 * rMax)
            let ty = rMax + rng.nextUnitFloat() * max(0, canvasH - 2 * rMax)
            objects.append(
                MovingObject(
                    position: (rng.nextUnitFloat() * Float(c.width), rng.nextUnitFloat() * Float(c.height)),
                    velocity: (objectSpeed * cosf(heading), objectSpeed * sinf(heading)), radius: radius,
                    texture: (tx, ty), gain: 0.7 + 0.6 * rng.nextUnitFloat()))
        }
        self.objects = objects
    }

    /// Renders the next exposure of the recording.
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

    /// The scene at `time`: the background through the camera, then the objects over it.
    private func render(time: Float, channels: Int, values: [Float]) -> [Float] {
        let c = configuration
        let centre = trajectory.centre(time)
        let (a, b) = trajectory.linear(time)
        let (hw, hh) = (Float(c.width) / 2, Float(c.height) / 2)
        var out = [Float](repeating: 0, count: c.width * c.height * channels)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<c.height {
                    let v = Float(y) + 0.5 - hh
                    for x in 0..<c.width {
                        let u = Float(x) + 0.5 - hw
                        sample(
                            src, channels: channels, x: centre.x + a * u - b * v, y: centre.y + b * u + a * v,
                            into: dst, at: (y * c.width + x) * channels, alpha: 1, gain: 1)
                    }
                }
                for object in objects {
                    let ox = object.position.x + object.velocity.x * time
                    let oy = object.position.y + object.velocity.y * time
                    let (rx, ry) = object.radius
                    let x0 = max(0, Int((ox - rx - 1).rounded(.down)))
                    let x1 = min(c.width - 1, Int((ox + rx + 1).rounded(.up)))
                    let y0 = max(0, Int((oy - ry - 1).rounded(.down)))
                    let y1 = min(c.height - 1, Int((oy + ry + 1).rounded(.up)))
                    guard x0 <= x1, y0 <= y1 else { continue }
                    let softness = min(rx, ry)
                    for y in y0...y1 {
                        let dy = Float(y) + 0.5 - oy
                        for x in x0...x1 {
                            let dx = Float(x) + 0.5 - ox
                            let r = ((dx / rx) * (dx / rx) + (dy / ry) * (dy / ry)).squareRoot()
                            let alpha = min(max((1 - r) * softness + 0.5, 0), 1)
                            guard alpha > 0 else { continue }
                            sample(
                                src, channels: channels, x: object.texture.x + dx, y: object.texture.y + dy,
                                into: dst, at: (y * c.width + x) * channels, alpha: alpha, gain: object.gain)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Bilinear sample of the canvas point (x, y) (pixel centres at +0.5, edges clamped),
    /// blended over `dst[at...]` with `alpha`, scaled by `gain` and clipped to 1.
    @inline(__always)
    private func sample(
        _ src: UnsafeBufferPointer<Float>, channels: Int, x: Float, y: Float,
        into dst: UnsafeMutableBufferPointer<Float>,
        at o: Int, alpha: Float, gain: Float
    ) {
        let inverse = 1 / magnification
        let sx = min(max(x * inverse - 0.5, 0), Float(sourceWidth - 1))
        let sy = min(max(y * inverse - 0.5, 0), Float(sourceHeight - 1))
        let x0 = Int(sx)
        let y0 = Int(sy)
        let x1 = min(x0 + 1, sourceWidth - 1)
        let y1 = min(y0 + 1, sourceHeight - 1)
        let fx = sx - Float(x0)
        let fy = sy - Float(y0)
        let w00 = (1 - fx) * (1 - fy)
        let w01 = fx * (1 - fy)
        let w10 = (1 - fx) * fy
        let w11 = fx * fy
        let i00 = (y0 * sourceWidth + x0) * channels
        let i01 = (y0 * sourceWidth + x1) * channels
        let i10 = (y1 * sourceWidth + x0) * channels
        let i11 = (y1 * sourceWidth + x1) * channels
        for ch in 0..<channels {
            let value = w00 * src[i00 + ch] + w01 * src[i01 + ch] + w10 * src[i10 + ch] + w11 * src[i11 + ch]
            if alpha >= 1 && gain == 1 {
                dst[o + ch] = value
            } else {
                dst[o + ch] = dst[o + ch] * (1 - alpha) + alpha * min(value * gain, 1)
            }
        }
    }
}
