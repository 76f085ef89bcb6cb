import Foundation
import SpikeCore

/// How the virtual camera and the scene move during a simulated recording.
///
/// Positions are in output pixels and times in sharp-frame units. The camera follows a
/// constant-velocity pan plus hand-held shake (two sinusoids per axis with random periods
/// and phases), a steady rotation with a small rotational tremor, and a steady zoom. On top
/// of the background, up to `objects` elliptical patches of the scene move across the
/// frame on their own straight paths, independent of the camera.
public struct MotionModel: Sendable, Hashable {
    /// Pan speed, output pixels per sharp frame (direction uniform).
    public var speed: ClosedRange<Float>
    /// Hand-held shake amplitude, output pixels (per axis, summed over the two sinusoids).
    public var shakeAmplitude: ClosedRange<Float>
    /// Shake periods, sharp frames.
    public var shakePeriod: ClosedRange<Float>
    /// Largest steady rotation speed, radians per sharp frame (sign random).
    public var rotationSpeed: Float
    /// Largest rotational tremor amplitude, radians.
    public var rotationShake: Float
    /// Largest steady zoom rate, relative scale change per sharp frame (sign random).
    public var zoomSpeed: Float
    /// Number of independently moving objects.
    public var objects: ClosedRange<Int>
    /// Object speed, output pixels per sharp frame.
    public var objectSpeed: ClosedRange<Float>
    /// Object diameter as a fraction of the frame's shorter side.
    public var objectSize: ClosedRange<Float>

    public init(
        speed: ClosedRange<Float>, shakeAmplitude: ClosedRange<Float> = 0...0, shakePeriod: ClosedRange<Float> = 4...16,
        rotationSpeed: Float = 0, rotationShake: Float = 0, zoomSpeed: Float = 0, objects: ClosedRange<Int> = 0...0,
        objectSpeed: ClosedRange<Float> = 0...0, objectSize: ClosedRange<Float> = 0.15...0.4
    ) {
        self.speed = speed
        self.shakeAmplitude = shakeAmplitude
        self.shakePeriod = shakePeriod
        self.rotationSpeed = rotationSpeed
        self.rotationShake = rotationShake
        self.zoomSpeed = zoomSpeed
        self.objects = objects
        self.objectSpeed = objectSpeed
        self.objectSize = objectSize
    }

    /// A straight pan at a constant speed: the original Spk-GoPro-style simulation.
    public static func pan(speed: ClosedRange<Float> = 0.5...2.5) -> MotionModel {
        MotionModel(speed: speed)
    }

    /// Hand-held capture: blur extents from none to `maxBlur` of the frame width over one
    /// exposure of `sharpFrames` frames, shared between pan and shake, a little rotation and
    /// zoom, and up to three objects moving as fast as the camera.
    public static func handheld(width: Int, sharpFrames: Int, maxBlur: Float = 0.1) -> MotionModel {
        let perFrame = maxBlur * Float(width) / Float(max(sharpFrames, 1))
        return MotionModel(
            speed: 0...(0.7 * perFrame), shakeAmplitude: 0...(0.3 * perFrame * Float(sharpFrames) / 2),
            shakePeriod: 6...30, rotationSpeed: 0.003, rotationShake: 0.004, zoomSpeed: 0.004, objects: 0...3,
            objectSpeed: 0...perFrame, objectSize: 0.15...0.4)
    }

    /// Checks the ranges; names the first bad field.
    func validate() throws(DatasetError) {
        func check(_ name: String, _ ok: Bool) throws(DatasetError) {
            if !ok { throw .invalidParameter(name: name, problem: "must be finite and non-negative") }
        }
        try check("speed", speed.lowerBound >= 0 && speed.upperBound.isFinite)
        try check("shakeAmplitude", shakeAmplitude.lowerBound >= 0 && shakeAmplitude.upperBound.isFinite)
        try check("shakePeriod", shakePeriod.lowerBound > 0 && shakePeriod.upperBound.isFinite)
        try check("rotationSpeed", rotationSpeed >= 0 && rotationSpeed <= 0.1)
        try check("rotationShake", rotationShake >= 0 && rotationShake <= 0.1)
        try check("zoomSpeed", zoomSpeed >= 0 && zoomSpeed <= 0.1)
        try check("objects", objects.lowerBound >= 0 && objects.upperBound <= 16)
        try check("objectSpeed", objectSpeed.lowerBound >= 0 && objectSpeed.upperBound.isFinite)
        try check("objectSize", objectSize.lowerBound > 0 && objectSize.upperBound <= 1)
    }
}

/// The sensor side of a simulated spike camera: threshold variation between recordings,
/// fixed-pattern noise between pixels, and spurious (dark-current) spikes.
public struct SensorModel: Sendable, Hashable {
    /// Nominal integrate-and-fire threshold (2.0: `TFI / 0.5` is the grey level).
    public var threshold: Float
    /// Per-recording multiplier of the threshold, drawn log-uniformly from this range.
    public var thresholdScale: ClosedRange<Float>
    /// Per-pixel relative threshold spread (standard deviation; fixed-pattern noise).
    public var thresholdSpread: Float
    /// Probability of a spurious spike per pixel and spike frame, drawn uniformly per
    /// recording from this range.
    public var spuriousRate: ClosedRange<Float>

    public init(
        threshold: Float = 2.0, thresholdScale: ClosedRange<Float> = 1...1, thresholdSpread: Float = 0,
        spuriousRate: ClosedRange<Float> = 0...0
    ) {
        self.threshold = threshold
        self.thresholdScale = thresholdScale
        self.thresholdSpread = thresholdSpread
        self.spuriousRate = spuriousRate
    }

    /// The ideal sensor at a threshold.
    public static func ideal(threshold: Float = 2.0) -> SensorModel { SensorModel(threshold: threshold) }

    /// The varied sensor used for the training data: threshold 0.6x-1.7x nominal per
    /// recording, 5% per-pixel spread, and 0-1.5% spurious spikes.
    public static func varied(threshold: Float = 2.0) -> SensorModel {
        SensorModel(threshold: threshold, thresholdScale: 0.6...1.7, thresholdSpread: 0.05, spuriousRate: 0...0.015)
    }

    func validate() throws(DatasetError) {
        guard threshold > 0, threshold.isFinite else {
            throw .invalidParameter(name: "threshold", problem: "must be positive, got \(threshold)")
        }
        guard thresholdScale.lowerBound > 0, thresholdScale.upperBound.isFinite else {
            throw .invalidParameter(name: "thresholdScale", problem: "must be a positive, finite range")
        }
        guard thresholdSpread >= 0, thresholdSpread <= 0.5 else {
            throw .invalidParameter(name: "thresholdSpread", problem: "must be in [0, 0.5], got \(thresholdSpread)")
        }
        guard spuriousRate.lowerBound >= 0, spuriousRate.upperBound <= 0.5 else {
            throw .invalidParameter(name: "spuriousRate", problem: "must lie in [0, 0.5], got \(spuriousRate)")
        }
    }
}

extension SplitMix64 {
    /// A float uniform in `range`.
    mutating func uniform(_ range: ClosedRange<Float>) -> Float {
        range.lowerBound + nextUnitFloat() * (range.upperBound - range.lowerBound)
    }

    /// An integer uniform in `range`.
    mutating func uniform(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// -1 or +1.
    mutating func sign() -> Float { next() & 1 == 0 ? -1 : 1 }
}
