import Checkpoint
import Foundation
import Tensor

/// The three outputs of the model, each `[B, C, H, W]` at the RGB resolution, unclamped.
public struct SpkDeblurNetOutput: Sendable {
    /// The deblurred image `[B, 3, H, W]`.
    public var sharp: Tensor
    /// The spike-stream reconstruction `[B, 1, H, W]`.
    public var spikeRecon: Tensor
    /// The fast anchor-only estimate `[B, 3, H, W]`.
    public var quickSharp: Tensor
}

/// SpkDeblurNet (NeurIPS 2023) inference, computing the same function as the reference
/// PyTorch model, quirks included (see the project's model contract).
///
/// Work the reference wastes is skipped without changing any output: the S anchor layers
/// before the last one (their results are overwritten) and the never-used reduce convs.
public struct SpkDeblurNet: Sendable {
    /// The constructor options.
    public let config: SpkDeblurNetConfig
    let dStem1: ConvWeights, dStem2: ConvWeights
    let maskedStem1: ConvWeights, maskedStem2: ConvWeights
    let sStem: ConvWeights
    let dLayers: [ResidualSwinGroup]
    let sLayers: [ResidualSwinGroup?]
    let dMidShuffle: ConvWeights, dLastShuffle: ConvWeights
    let sShuffle: ConvWeights
    let sAfterBody: ConvWeights
    let cross1: CrossAttentionBlock, cross2: CrossAttentionBlock
    let cammm: CAMMM

    /// Builds the model from a state dict.
    /// - Parameters:
    ///   - source: names the weights in errors (e.g. the file name).
    /// - Throws: ``SpkDeblurNetError`` listing every missing key, unexpected key and shape
    ///   mismatch at once, or an invalid config.
    public init(config: SpkDeblurNetConfig, weights: StateDict, source: String = "weights") throws(SpkDeblurNetError) {
        try self.init(config: config, reader: WeightReader(weights.strippingPrefix("module."), source: source))
    }

    init(config: SpkDeblurNetConfig, reader r: WeightReader) throws(SpkDeblurNetError) {
        try config.validate()
        self.config = config
        let (cd, cs) = (config.D_embed_dim, config.S_embed_dim)
        dStem1 = r.conv("D_conv_down.0", out: cd, in: config.D_in_chs, kernel: 3, stride: 2)
        dStem2 = r.conv("D_conv_down.2", out: cd, in: cd, kernel: 3, stride: 2)
        maskedStem1 = r.conv("conv_masked_blur.0", out: cs, in: 1, kernel: 3, stride: 2)
        maskedStem2 = r.conv("conv_masked_blur.2", out: cs, in: cs, kernel: 3, stride: 2)
        r.checkAll([
            ("D_conv_reduce.0.weight", [cd, cd + cs, 3, 3]), ("D_conv_reduce.0.bias", [cd]),
            ("S_conv_reduce.0.weight", [cs, 2 * cs, 3, 3]), ("S_conv_reduce.0.bias", [cs]),
        ])
        func group(_ prefix: String, dim: Int, depth: Int, heads: Int, window: Int, imgSize: Int) -> ResidualSwinGroup {
            ResidualSwinGroup(
                r, prefix, dim: dim, depth: depth, heads: heads, window: window, imgSize: imgSize,
                useMLP: config.use_mlp, useConv: config.use_conv, multiScale: config.ms)
        }
        dLayers = (0..<config.D_depths.count).map { i in
            group(
                "D_layers.\(i)", dim: cd, depth: config.D_depths[i], heads: config.D_num_heads[i],
                window: config.D_window_size, imgSize: config.D_img_size)
        }
        sLayers = (0..<config.S_depths.count).map { i in
            let layer = group(
                "S_layers.\(i)", dim: cs, depth: config.S_depths[i], heads: config.S_num_heads[i],
                window: config.S_window_size, imgSize: config.S_img_size)
            // Reference quirk: the anchor layers before the last have their outputs
            // overwritten; their weights are read (and checked) but not kept.
            return i < config.S_anchor_num_layers - 1 ? nil : layer
        }
        dMidShuffle = r.conv("D_mid_shuffle_up.0", out: config.D_out_chs * 16, in: cd, kernel: 3)
        dLastShuffle = r.conv("D_last_shuffle_up.0", out: config.D_out_chs * 16, in: cd, kernel: 3)
        sStem = r.conv("S_conv_down.0", out: cs, in: config.S_in_chs, kernel: 3, stride: 2)
        sShuffle = r.conv("S_shuffle_up.0", out: config.S_out_chs * 16, in: cs, kernel: 3)
        sAfterBody = r.conv("S_conv_after_body", out: cs, in: cs, kernel: 3)
        cross1 = CrossAttentionBlock(r, "cross_attention_1", dim1: cs, dim2: cs)
        cross2 = CrossAttentionBlock(r, "cross_attention_2", dim1: cd, dim2: cs)
        cammm = CAMMM(r)
        try r.finish()
    }

    /// The safetensors metadata key under which a config JSON travels with its weights
    /// (`tools/train` writes it): the anchor counts cannot be read from the tensor shapes.
    public static let configMetadataKey = "spkdeblurnet_config"

    /// Loads weights from a `.pth` or `.safetensors` file. Without `config`, the config
    /// stored with the weights (``configMetadataKey``), else inferred from the tensor shapes
    /// on top of the published config (whose anchor counts it then takes).
    /// - Throws: ``SpkDeblurNetError`` or ``CheckpointError``.
    public static func load(weights url: URL, config: SpkDeblurNetConfig? = nil) throws -> SpkDeblurNet {
        let dict = try StateDict.load(contentsOf: url)
        let stored = try dict.metadata[configMetadataKey].map {
            try SpkDeblurNetConfig.decode(
                json: Data($0.utf8), source: "\(url.lastPathComponent) (\(configMetadataKey) metadata)")
        }
        let resolved = config ?? stored ?? SpkDeblurNetConfig.inferred(from: dict)
        return try SpkDeblurNet(config: resolved, weights: dict, source: url.lastPathComponent)
    }

    /// Runs the model.
    /// - Parameters:
    ///   - blur: `[B, 3, H, W]` RGB in [0, 1].
    ///   - spike: `[B, T, H/2, W/2]` binary spikes, `T = S_in_chs`.
    ///   - tfi: `[B, 1, H/2, W/2]` (training convention: middleTFI / 0.5).
    ///   - backend: where to compute.
    /// - Throws: ``SpkDeblurNetError/invalidInput(name:problem:)`` for inconsistent shapes.
    public func callAsFunction(blur: Tensor, spike: Tensor, tfi: Tensor, backend: any TensorBackend = CPUBackend())
        throws(SpkDeblurNetError) -> SpkDeblurNetOutput
    {
        try checkInputs(blur: blur.shape, spike: spike.shape, tfi: tfi.shape)
        let b = backend
        let out = try forward(
            batch: blur.shape[0], height: blur.shape[2], width: blur.shape[3],
            blur: { b.featureMap(blur, batch: $0) }, spike: { b.featureMap(spike, batch: $0) },
            tfi: { b.featureMap(tfi, batch: $0) }, b)
        return SpkDeblurNetOutput(
            sharp: b.stack(out.sharp), spikeRecon: b.stack(out.spikeRecon), quickSharp: b.stack(out.quickSharp))
    }

    /// Runs the model on channels-last maps, one per image of the batch (the layout the
    /// backend computes in, so no conversion at either end).
    /// - Parameters:
    ///   - blur: `H x W x 3` RGB in [0, 1], per image.
    ///   - spike: `H/2 x W/2 x T` binary spikes, `T = S_in_chs`, per image.
    ///   - tfi: `H/2 x W/2 x 1` (training convention: middleTFI / 0.5), per image.
    ///   - backend: where to compute.
    /// - Returns: `sharp` (`H x W x 3`), `spikeRecon` (`H x W x 1`) and `quickSharp`
    ///   (`H x W x 3`) per image.
    /// - Throws: ``SpkDeblurNetError/invalidInput(name:problem:)`` for inconsistent shapes.
    public func callAsFunction(
        blur: [FeatureMap], spike: [FeatureMap], tfi: [FeatureMap], backend: any TensorBackend = CPUBackend()
    ) throws(SpkDeblurNetError) -> (sharp: [FeatureMap], spikeRecon: [FeatureMap], quickSharp: [FeatureMap]) {
        func shape(_ maps: [FeatureMap], _ name: String) throws(SpkDeblurNetError) -> [Int] {
            guard let first = maps.first else { throw .invalidInput(name: name, problem: "no image") }
            for m in maps where m.height != first.height || m.width != first.width || m.channels != first.channels {
                throw .invalidInput(
                    name: name,
                    problem:
                        "images of one batch differ in size (\(m.height)x\(m.width)x\(m.channels), \(first.height)x\(first.width)x\(first.channels))"
                )
            }
            return [maps.count, first.channels, first.height, first.width]
        }
        let blurShape = try shape(blur, "blur")
        try checkInputs(blur: blurShape, spike: try shape(spike, "spike"), tfi: try shape(tfi, "tfi"))
        return try forward(
            batch: blur.count, height: blurShape[2], width: blurShape[3], blur: { blur[$0] }, spike: { spike[$0] },
            tfi: { tfi[$0] }, backend)
    }

    /// The forward pass on checked inputs; each image's maps are asked for when needed.
    func forward(
        batch: Int, height h: Int, width w: Int, blur: (Int) -> FeatureMap, spike: (Int) -> FeatureMap,
        tfi: (Int) -> FeatureMap, _ b: any TensorBackend
    ) throws(SpkDeblurNetError) -> (sharp: [FeatureMap], spikeRecon: [FeatureMap], quickSharp: [FeatureMap]) {
        let multiple = 4 * config.D_window_size
        // Phase 1, per image: the D anchor, quick_sharp and the CAMMM difference (whose
        // normalisation spans the whole batch, as in the reference).
        var midBlur: [FeatureMap] = [], quick: [FeatureMap] = [], gray: [FeatureMap] = [], tfiUp: [FeatureMap] = []
        var diffs: [[Float]] = []
        for n in 0..<batch {
            var x = b.conv2d(blur(n), dStem1)
            b.gelu(&x)
            x = b.reflectPad(b.conv2d(x, dStem2), toMultipleOf: multiple)
            var chained = x
            for i in 0..<config.D_anchor_num_layers { chained = dLayers[i](chained, b) }
            b.add(&chained, x)
            midBlur.append(chained)
            let q = b.crop(b.pixelShuffle(b.conv2d(chained, dMidShuffle), factor: 4), height: h, width: w)
            quick.append(q)
            let g = Self.grayscale(q)
            gray.append(g)
            let t = b.resizeBilinear(tfi(n), height: h, width: w)
            tfiUp.append(t)
            diffs.append(CAMMM.difference(gray: g, tfi: t))
        }
        let lo = diffs.compactMap { $0.min() }.min() ?? 0, hi = diffs.compactMap { $0.max() }.max() ?? 0
        // Phase 2, per image.
        var sharps: [FeatureMap] = [], recons: [FeatureMap] = []
        for n in 0..<batch {
            let stem = b.reflectPad(b.conv2d(spike(n), sStem), toMultipleOf: multiple)
            guard stem.height == midBlur[n].height, stem.width == midBlur[n].width else {
                throw .invalidInput(
                    name: "spike",
                    problem:
                        "token grid \(stem.height)x\(stem.width) differs from the RGB branch's \(midBlur[n].height)x\(midBlur[n].width)"
                )
            }
            // Reference quirk: every S anchor layer reads the same stem; only the last counts.
            var midSpike = sLayers[config.S_anchor_num_layers - 1]!(stem, b)
            b.add(&midSpike, stem)
            let soft = cammm(gray: gray[n], tfi: tfiUp[n], difference: diffs[n], minimum: lo, maximum: hi, b)
            var masked = gray[n]
            b.multiplyPixels(&masked, by: soft)
            var m = b.conv2d(masked, maskedStem1)
            b.gelu(&m)
            m = b.reflectPad(b.conv2d(m, maskedStem2), toMultipleOf: multiple)
            let fusion = cross1(query: midSpike, other: m, b)
            var sTail = fusion
            for i in config.S_anchor_num_layers..<config.S_depths.count { sTail = sLayers[i]!(sTail, b) }
            var spikeImage = b.conv2d(sTail, sAfterBody)
            b.add(&spikeImage, fusion)
            recons.append(b.crop(b.pixelShuffle(b.conv2d(spikeImage, sShuffle), factor: 4), height: h, width: w))
            let refined = cross2(query: midBlur[n], other: sTail, b)
            var tail = refined
            for i in config.D_anchor_num_layers..<config.D_depths.count { tail = dLayers[i](tail, b) }
            b.add(&tail, refined)
            sharps.append(b.crop(b.pixelShuffle(b.conv2d(tail, dLastShuffle), factor: 4), height: h, width: w))
        }
        return (sharps, recons, quick)
    }

    /// torchvision's `Grayscale`: `0.2989 R + 0.587 G + 0.114 B`.
    static func grayscale(_ rgb: FeatureMap) -> FeatureMap {
        var out = FeatureMap(height: rgb.height, width: rgb.width, channels: 1)
        out.data.withUnsafeMutableBufferPointer { o in
            rgb.data.withUnsafeBufferPointer { x in
                for p in 0..<rgb.pixelCount {
                    let r: Float = 0.2989 * x[3 * p]
                    let g: Float = 0.587 * x[3 * p + 1]
                    let b: Float = 0.114 * x[3 * p + 2]
                    o[p] = r + g + b
                }
            }
        }
        return out
    }

    func checkInputs(blur: [Int], spike: [Int], tfi: [Int]) throws(SpkDeblurNetError) {
        guard blur.count == 4, blur[1] == config.D_in_chs else {
            throw .invalidInput(name: "blur", problem: "shape \(blur), expected [B, \(config.D_in_chs), H, W]")
        }
        let (n, h, w) = (blur[0], blur[2], blur[3])
        guard h % 2 == 0, w % 2 == 0 else {
            throw .invalidInput(name: "blur", problem: "size \(h)x\(w) must be even (twice the spike resolution)")
        }
        guard spike == [n, config.S_in_chs, h / 2, w / 2] else {
            throw .invalidInput(
                name: "spike",
                problem:
                    "shape \(spike), expected [\(n), \(config.S_in_chs), \(h / 2), \(w / 2)] (T = S_in_chs, half the RGB size)"
            )
        }
        guard tfi == [n, 1, h / 2, w / 2] else {
            throw .invalidInput(name: "tfi", problem: "shape \(tfi), expected [\(n), 1, \(h / 2), \(w / 2)]")
        }
        // Reflect padding of the stem output (ceil(size / 4)) needs the pad to be smaller.
        let m = 4 * config.D_window_size
        for side in [h, w] {
            let stem = (side + 3) / 4
            guard (m - stem % m) % m < stem else {
                throw .invalidInput(
                    name: "blur", problem: "size \(h)x\(w) is too small to reflect-pad to a multiple of \(4 * m) pixels"
                )
            }
        }
    }
}
