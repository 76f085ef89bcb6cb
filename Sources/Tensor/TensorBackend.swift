/// The operations the SpkDeblurNet model needs, over channels-last ``FeatureMap``s.
///
/// A backend computes them on one device. ``CPUBackend`` is the reference implementation;
/// other devices implement the same protocol so the model code does not change.
public protocol TensorBackend: Sendable {
    /// 2-D convolution (zero padding, any stride, groups 1 or depthwise).
    /// `[H, W, Cin] -> [Ho, Wo, Cout]`, `Ho = (H + 2p - k) / s + 1`.
    func conv2d(_ x: FeatureMap, _ w: ConvWeights) -> FeatureMap
    /// A linear layer applied to every pixel: `[H, W, in] -> [H, W, out]`.
    func linear(_ x: FeatureMap, _ w: LinearWeights) -> FeatureMap
    /// `y += linear(x)`, the residual add fused into the product.
    func linear(_ x: FeatureMap, _ w: LinearWeights, addingTo y: inout FeatureMap)
    /// `GELU(linear(x))`, the activation fused into the product.
    func linearGELU(_ x: FeatureMap, _ w: LinearWeights) -> FeatureMap
    /// `y += conv2d(x)`, the residual add fused into the product.
    func conv2d(_ x: FeatureMap, _ w: ConvWeights, addingTo y: inout FeatureMap)
    /// LayerNorm over the channels of every pixel (biased variance).
    func layerNorm(_ x: FeatureMap, _ n: NormWeights) -> FeatureMap
    /// Exact (erf) GELU, in place.
    func gelu(_ x: inout FeatureMap)
    /// Logistic sigmoid, in place.
    func sigmoid(_ x: inout FeatureMap)
    /// Element-wise `a += b` (same shape).
    func add(_ a: inout FeatureMap, _ b: FeatureMap)
    /// Multiplies every pixel's channel `c` by `scale[c]`, in place.
    func scaleChannels(_ x: inout FeatureMap, by scale: [Float])
    /// Multiplies every pixel by the single channel of `mask` at that pixel, in place.
    func multiplyPixels(_ x: inout FeatureMap, by mask: FeatureMap)
    /// Mean over pixels per channel: `[C]`.
    func globalAveragePool(_ x: FeatureMap) -> [Float]
    /// Swin (shifted) window self-attention on already normalised tokens, including the
    /// `qkv` and `proj` linears: roll by `-shift`, attend in `window x window` windows with
    /// relative position bias (and the shifted-window mask when `shift > 0`), roll back.
    /// `[H, W, C] -> [H, W, C]`; `H` and `W` must be multiples of the window.
    func windowAttention(_ x: FeatureMap, _ w: WindowAttentionWeights, shift: Int) -> FeatureMap
    /// The attention core of ``windowAttention(_:_:shift:)`` on precomputed `qkv`
    /// `[H, W, 3C]` (channels `[3, heads, C / heads]`, in the unrolled image's coordinates),
    /// without the `qkv` and `proj` layers: `[H, W, C]`, also in unrolled coordinates. The
    /// `use_conv` variant computes `qkv` and `proj` with 3x3 convolutions around it.
    func windowAttention(qkv: FeatureMap, _ p: WindowPositionBias, shift: Int) -> FeatureMap
    /// Cyclic shift of rows and columns by `shift` (torch.roll over both spatial axes):
    /// `out[y, x] = in[(y - shift) mod H, (x - shift) mod W]`.
    func roll(_ x: FeatureMap, by shift: Int) -> FeatureMap
    /// Transposed (channel) attention: per head, L2-normalise the channel vectors of `q`
    /// `[H, W, C1]` and `k` `[H, W, C2]` over the pixels, `A = softmax(q k^T * t[h])`
    /// (`[C1/heads, C2/heads]`), output `A v`: `[H, W, C1]`.
    func channelAttention(q: FeatureMap, k: FeatureMap, v: FeatureMap, heads: Int, temperature: [Float]) -> FeatureMap
    /// PixelShuffle: `[H, W, C * r * r] -> [H * r, W * r, C]`,
    /// `out[c, r*h + i, r*w + j] = in[c*r*r + r*i + j, h, w]`.
    func pixelShuffle(_ x: FeatureMap, factor r: Int) -> FeatureMap
    /// Reflect-pads bottom and right so both sides are multiples of `m` (mirror without
    /// repeating the edge).
    func reflectPad(_ x: FeatureMap, toMultipleOf m: Int) -> FeatureMap
    /// The top-left `height x width` region.
    func crop(_ x: FeatureMap, height: Int, width: Int) -> FeatureMap
    /// Bilinear resize with `align_corners = false` (PyTorch semantics, no antialias).
    func resizeBilinear(_ x: FeatureMap, height: Int, width: Int) -> FeatureMap
    /// Channel concatenation `[H, W, C1] ++ [H, W, C2] -> [H, W, C1 + C2]` (a default
    /// implementation is given).
    func concatChannels(_ a: FeatureMap, _ b: FeatureMap) -> FeatureMap
    /// The transformer MLP with its residual, `x += fc2(GELU(fc1(LayerNorm(x))))` (a default
    /// implementation composes the ops above; a backend may fuse it to save the passes over
    /// the normalised and hidden maps).
    func residualMLP(_ x: inout FeatureMap, norm: NormWeights, fc1: LinearWeights, fc2: LinearWeights)
    /// The Swin attention half-block with its residual,
    /// `x += windowAttention(LayerNorm(x), w, shift)` (a default implementation composes the
    /// ops above; a backend may fuse it window by window).
    func residualWindowAttention(_ x: inout FeatureMap, norm: NormWeights, _ w: WindowAttentionWeights, shift: Int)
    /// A whole Swin block: ``residualWindowAttention(_:norm:_:shift:)`` with `norm1`, then
    /// ``residualMLP(_:norm:fc1:fc2:)`` with `norm2` (a default implementation calls the two).
    func residualSwinBlock(
        _ x: inout FeatureMap, norm1: NormWeights, _ w: WindowAttentionWeights, shift: Int, norm2: NormWeights,
        fc1: LinearWeights, fc2: LinearWeights)
    /// The per-channel means of `conv2d(x, w)` (a default implementation is given; a backend
    /// may reduce the map band by band instead of building it).
    func convolvedChannelMeans(_ x: FeatureMap, _ w: ConvWeights) -> [Float]
    /// `conv2d(conv2d(x, first), second)` for a 1x1 `second` with one output channel (a
    /// default implementation is given; a backend may skip building the intermediate map).
    func convolve(_ x: FeatureMap, _ first: ConvWeights, then second: ConvWeights) -> FeatureMap
    /// Image `n` of a `[N, C, H, W]` tensor as a channels-last map (a default implementation
    /// is given: ``Tensor/featureMap(batch:)``).
    func featureMap(_ t: Tensor, batch n: Int) -> FeatureMap
    /// Channels-last maps of one size stacked into `[N, C, H, W]` (a default implementation
    /// is given: ``Tensor/init(stacking:)``).
    func stack(_ maps: [FeatureMap]) -> Tensor
}

extension TensorBackend {
    /// `globalAveragePool(conv2d(x, w))`.
    public func convolvedChannelMeans(_ x: FeatureMap, _ w: ConvWeights) -> [Float] {
        globalAveragePool(conv2d(x, w))
    }

    /// The two convolutions.
    public func convolve(_ x: FeatureMap, _ first: ConvWeights, then second: ConvWeights) -> FeatureMap {
        conv2d(conv2d(x, first), second)
    }

    /// ``Tensor/featureMap(batch:)``.
    public func featureMap(_ t: Tensor, batch n: Int) -> FeatureMap { t.featureMap(batch: n) }

    /// ``Tensor/init(stacking:)``.
    public func stack(_ maps: [FeatureMap]) -> Tensor { Tensor(stacking: maps) }

    /// `x += fc2(GELU(fc1(LayerNorm(x))))` through `layerNorm`, `linearGELU` and `linear`.
    public func residualMLP(_ x: inout FeatureMap, norm: NormWeights, fc1: LinearWeights, fc2: LinearWeights) {
        let hidden = linearGELU(layerNorm(x, norm), fc1)
        linear(hidden, fc2, addingTo: &x)
    }

    /// The attention half, then the MLP half of a Swin block.
    public func residualSwinBlock(
        _ x: inout FeatureMap, norm1: NormWeights, _ w: WindowAttentionWeights, shift: Int, norm2: NormWeights,
        fc1: LinearWeights, fc2: LinearWeights
    ) {
        residualWindowAttention(&x, norm: norm1, w, shift: shift)
        residualMLP(&x, norm: norm2, fc1: fc1, fc2: fc2)
    }

    /// `x += proj(attention(qkv(LayerNorm(x))))` through `layerNorm`, `linear`, the attention
    /// core and `linear(_:_:addingTo:)`.
    public func residualWindowAttention(
        _ x: inout FeatureMap, norm: NormWeights, _ w: WindowAttentionWeights, shift: Int
    ) {
        let attended = windowAttention(qkv: linear(layerNorm(x, norm), w.qkv), w.position, shift: shift)
        linear(attended, w.proj, addingTo: &x)
    }

    /// Channel concatenation `[H, W, C1] ++ [H, W, C2] -> [H, W, C1 + C2]`.
    public func concatChannels(_ a: FeatureMap, _ b: FeatureMap) -> FeatureMap {
        precondition(a.height == b.height && a.width == b.width, "concat: spatial sizes differ")
        var out = FeatureMap(height: a.height, width: a.width, channels: a.channels + b.channels)
        let (ca, cb, c) = (a.channels, b.channels, a.channels + b.channels)
        for p in 0..<a.pixelCount {
            for i in 0..<ca { out.data[p * c + i] = a.data[p * ca + i] }
            for i in 0..<cb { out.data[p * c + ca + i] = b.data[p * cb + i] }
        }
        return out
    }
}
