import SpikeCore
import Tensor

/// One exposure to deblur: the blurry RGB frame and the spike frames around its midpoint.
public struct DeblurInput: Sendable {
    /// The blurry frame `[H, W, 3]`, RGB in [0, 1], exactly twice the spike resolution.
    public var blur: FeatureMap
    /// The spike window centred on the exposure midpoint (`T` frames at `H/2 x W/2`).
    public var spikes: PackedSpikeFrames
    /// The window's TFI in the training convention (`middleTFI(spikes, T/2) / 0.5`, `H/2 x W/2`
    /// display order) when it is already computed, as the exposure-window stage does; nil:
    /// the method computes it.
    public var tfi: [Float]?

    /// Creates an input.
    public init(blur: FeatureMap, spikes: PackedSpikeFrames, tfi: [Float]? = nil) {
        self.blur = blur
        self.spikes = spikes
        self.tfi = tfi
    }

    /// The TFI given, or computed from the spikes.
    public func trainingTFI() throws(DeblurError) -> [Float] {
        guard let tfi else { return TFI.trainingInput(spikes) }
        guard tfi.count == spikes.geometry.pixelCount else {
            throw DeblurError("input", "TFI has \(tfi.count) values for \(spikes.geometry.pixelCount) spike pixels")
        }
        return tfi
    }
}

/// What a deblurrer produces for one exposure.
public struct DeblurResult: Sendable {
    /// The deblurred frame `[H, W, 3]` (unclamped).
    public var sharp: FeatureMap
    /// The spike reconstruction `[H, W, 1]`, when the method makes one.
    public var spikeRecon: FeatureMap?
    /// The model's quick estimate `[H, W, 3]`, when the method makes one.
    public var quickSharp: FeatureMap?

    /// Creates a result.
    public init(sharp: FeatureMap, spikeRecon: FeatureMap? = nil, quickSharp: FeatureMap? = nil) {
        self.sharp = sharp
        self.spikeRecon = spikeRecon
        self.quickSharp = quickSharp
    }
}

/// Errors of the deblur methods; one line each.
public struct DeblurError: Error, CustomStringConvertible, Sendable {
    /// What failed, e.g. the method name.
    public var subject: String
    /// The problem.
    public var problem: String

    /// Creates an error.
    public init(_ subject: String, _ problem: String) {
        self.subject = subject
        self.problem = problem
    }

    public var description: String { "\(subject): \(problem)" }
}

/// A spike-guided deblurring method.
public protocol Deblurrer: Sendable {
    /// A short name for reports (`spkdeblurnet`, `classical`, `passthrough`).
    var name: String { get }
    /// Spike frames per window the method wants (`nil`: any).
    var windowLength: Int? { get }
    /// Deblurs one exposure.
    /// - Throws: ``DeblurError`` for inputs of the wrong size.
    func deblur(_ input: DeblurInput) throws -> DeblurResult
}

extension DeblurInput {
    /// Checks the RGB frame is exactly twice the spike resolution.
    func checkSizes(_ method: String) throws(DeblurError) {
        let g = spikes.geometry
        guard blur.channels == 3 else {
            throw DeblurError(method, "blur frame has \(blur.channels) channels, expected 3")
        }
        guard blur.height == 2 * g.height, blur.width == 2 * g.width else {
            throw DeblurError(
                method,
                "blur frame is \(blur.height)x\(blur.width); it must be exactly twice the spike resolution \(g.height)x\(g.width)"
            )
        }
    }
}

/// Returns the blurry frame unchanged: for testing pipelines and measuring their overhead.
public struct PassthroughDeblurrer: Deblurrer {
    public let name = "passthrough"
    public let windowLength: Int? = nil
    /// Creates the pass-through method.
    public init() {}
    public func deblur(_ input: DeblurInput) throws -> DeblurResult {
        DeblurResult(sharp: input.blur)
    }
}
