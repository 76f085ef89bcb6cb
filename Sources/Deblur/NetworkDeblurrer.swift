import Foundation
import SpikeCore
import SpkDeblurNet
import Tensor

/// SpkDeblurNet as a ``Deblurrer``: the spike window must hold `S_in_chs` frames; the TFI is
/// computed by the training convention of the published checkpoints
/// (`middleTFI(window, T/2, 50) / 0.5`).
public struct NetworkDeblurrer: Deblurrer {
    public let name = "spkdeblurnet"
    /// The model.
    public let model: SpkDeblurNet
    /// Where it runs.
    public let backend: any TensorBackend

    /// Wraps a model.
    public init(model: SpkDeblurNet, backend: any TensorBackend = CPUBackend()) {
        self.model = model
        self.backend = backend
    }

    public var windowLength: Int? { model.config.S_in_chs }

    public func deblur(_ input: DeblurInput) throws -> DeblurResult {
        try input.checkSizes(name)
        let t = model.config.S_in_chs
        guard input.spikes.count == t else {
            throw DeblurError(name, "spike window has \(input.spikes.count) frames, the model takes \(t) (S_in_chs)")
        }
        let g = input.spikes.geometry
        // Channels-last in and out: the spike frames are decoded straight into that layout, the
        // RGB frame and the outputs are not converted at all.
        var spikeValues = TensorBuffer(uninitialized: g.pixelCount * t)
        spikeValues.withUnsafeMutableBufferPointer { input.spikes.unpackChannelsLast(into: $0.baseAddress!) }
        let spike = FeatureMap(height: g.height, width: g.width, channels: t, data: spikeValues)
        let tfi = FeatureMap(height: g.height, width: g.width, channels: 1, data: try input.trainingTFI())
        let out = try model(blur: [input.blur], spike: [spike], tfi: [tfi], backend: backend)
        return DeblurResult(sharp: out.sharp[0], spikeRecon: out.spikeRecon[0], quickSharp: out.quickSharp[0])
    }
}
