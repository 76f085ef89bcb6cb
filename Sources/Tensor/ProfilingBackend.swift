import Foundation

/// A backend that times every operation of another one, by operation name, for
/// `spkdeblur bench model --profile`. The results are the same as the wrapped backend's.
public final class ProfilingBackend<Base: TensorBackend>: TensorBackend, @unchecked Sendable {
    // Invariant for @unchecked Sendable: `totals` is only touched under `lock`; `base` is
    // immutable and Sendable.
    public let base: Base
    private let lock = NSLock()
    private var totals: [String: (seconds: Double, cpuSeconds: Double, calls: Int)] = [:]

    /// One operation's share.
    public struct Entry: Sendable {
        public var operation: String
        /// Wall-clock time.
        public var seconds: Double
        /// CPU time of the whole process (all threads) during the operation: `cpuSeconds /
        /// seconds` is how many cores it kept busy.
        public var cpuSeconds: Double
        public var calls: Int
    }

    /// CPU time of this process so far, all threads, in seconds.
    public static var processCPUSeconds: Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    public init(_ base: Base) { self.base = base }

    /// Accumulated time per operation, largest first.
    public var entries: [Entry] {
        lock.withLock {
            totals.map {
                Entry(
                    operation: $0.key, seconds: $0.value.seconds, cpuSeconds: $0.value.cpuSeconds, calls: $0.value.calls
                )
            }
        }
        .sorted { $0.seconds > $1.seconds }
    }

    /// Forgets what was measured.
    public func reset() { lock.withLock { totals = [:] } }

    @inline(__always)
    private func timed<R>(_ name: String, _ body: () -> R) -> R {
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = Self.processCPUSeconds
        let result = body()
        let cpu = Self.processCPUSeconds - cpuStart
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.withLock {
            let old = totals[name] ?? (0, 0, 0)
            totals[name] = (old.seconds + seconds, old.cpuSeconds + cpu, old.calls + 1)
        }
        return result
    }

    public func conv2d(_ x: FeatureMap, _ w: ConvWeights) -> FeatureMap {
        timed("conv \(Self.shape(w))") { base.conv2d(x, w) }
    }
    /// A convolution's kind and shape for the profile, e.g. `3x3 48->48 /2` (stride 2).
    static func shape(_ w: ConvWeights) -> String {
        let stride = w.stride > 1 ? " /\(w.stride)" : ""
        if w.groups > 1 { return "depthwise \(w.kernel)x\(w.kernel) \(w.inChannels)\(stride)" }
        return "\(w.kernel)x\(w.kernel) \(w.inChannels)->\(w.outChannels)\(stride)"
    }

    public func linear(_ x: FeatureMap, _ w: LinearWeights) -> FeatureMap { timed("linear") { base.linear(x, w) } }
    public func linear(_ x: FeatureMap, _ w: LinearWeights, addingTo y: inout FeatureMap) {
        timed("linear + residual") { base.linear(x, w, addingTo: &y) }
    }
    public func linearGELU(_ x: FeatureMap, _ w: LinearWeights) -> FeatureMap {
        timed("linear + GELU") { base.linearGELU(x, w) }
    }
    public func conv2d(_ x: FeatureMap, _ w: ConvWeights, addingTo y: inout FeatureMap) {
        timed("conv + residual \(Self.shape(w))") { base.conv2d(x, w, addingTo: &y) }
    }
    public func layerNorm(_ x: FeatureMap, _ n: NormWeights) -> FeatureMap {
        timed("layer norm") { base.layerNorm(x, n) }
    }
    public func gelu(_ x: inout FeatureMap) { timed("GELU") { base.gelu(&x) } }
    public func sigmoid(_ x: inout FeatureMap) { timed("sigmoid") { base.sigmoid(&x) } }
    public func add(_ a: inout FeatureMap, _ b: FeatureMap) { timed("add") { base.add(&a, b) } }
    public func scaleChannels(_ x: inout FeatureMap, by scale: [Float]) {
        timed("scale channels") { base.scaleChannels(&x, by: scale) }
    }
    public func multiplyPixels(_ x: inout FeatureMap, by mask: FeatureMap) {
        timed("multiply pixels") { base.multiplyPixels(&x, by: mask) }
    }
    public func globalAveragePool(_ x: FeatureMap) -> [Float] { timed("average pool") { base.globalAveragePool(x) } }
    public func windowAttention(_ x: FeatureMap, _ w: WindowAttentionWeights, shift: Int) -> FeatureMap {
        timed("window attention (with qkv, proj)") { base.windowAttention(x, w, shift: shift) }
    }
    public func windowAttention(qkv: FeatureMap, _ p: WindowPositionBias, shift: Int) -> FeatureMap {
        timed("window attention core") { base.windowAttention(qkv: qkv, p, shift: shift) }
    }
    public func roll(_ x: FeatureMap, by shift: Int) -> FeatureMap { timed("roll") { base.roll(x, by: shift) } }
    public func channelAttention(q: FeatureMap, k: FeatureMap, v: FeatureMap, heads: Int, temperature: [Float])
        -> FeatureMap
    {
        timed("channel attention") { base.channelAttention(q: q, k: k, v: v, heads: heads, temperature: temperature) }
    }
    public func pixelShuffle(_ x: FeatureMap, factor r: Int) -> FeatureMap {
        timed("pixel shuffle") { base.pixelShuffle(x, factor: r) }
    }
    public func reflectPad(_ x: FeatureMap, toMultipleOf m: Int) -> FeatureMap {
        timed("reflect pad") { base.reflectPad(x, toMultipleOf: m) }
    }
    public func crop(_ x: FeatureMap, height: Int, width: Int) -> FeatureMap {
        timed("crop") { base.crop(x, height: height, width: width) }
    }
    public func concatChannels(_ a: FeatureMap, _ b: FeatureMap) -> FeatureMap {
        timed("concat channels") { base.concatChannels(a, b) }
    }
    public func convolvedChannelMeans(_ x: FeatureMap, _ w: ConvWeights) -> [Float] {
        timed("channel means of conv \(Self.shape(w))") { base.convolvedChannelMeans(x, w) }
    }
    public func convolve(_ x: FeatureMap, _ first: ConvWeights, then second: ConvWeights) -> FeatureMap {
        timed("conv \(Self.shape(first)), then \(Self.shape(second))") { base.convolve(x, first, then: second) }
    }
    public func featureMap(_ t: Tensor, batch n: Int) -> FeatureMap {
        timed("layout: NCHW to channels-last") { base.featureMap(t, batch: n) }
    }
    public func stack(_ maps: [FeatureMap]) -> Tensor { timed("layout: channels-last to NCHW") { base.stack(maps) } }
    public func residualMLP(_ x: inout FeatureMap, norm: NormWeights, fc1: LinearWeights, fc2: LinearWeights) {
        timed("MLP (norm, fc1, GELU, fc2, residual)") { base.residualMLP(&x, norm: norm, fc1: fc1, fc2: fc2) }
    }
    public func residualWindowAttention(
        _ x: inout FeatureMap, norm: NormWeights, _ w: WindowAttentionWeights, shift: Int
    ) {
        timed("window attention (norm, qkv, proj, residual)") {
            base.residualWindowAttention(&x, norm: norm, w, shift: shift)
        }
    }
    public func residualSwinBlock(
        _ x: inout FeatureMap, norm1: NormWeights, _ w: WindowAttentionWeights, shift: Int, norm2: NormWeights,
        fc1: LinearWeights, fc2: LinearWeights
    ) {
        timed("Swin block (attention and MLP, fused)") {
            base.residualSwinBlock(&x, norm1: norm1, w, shift: shift, norm2: norm2, fc1: fc1, fc2: fc2)
        }
    }
    public func resizeBilinear(_ x: FeatureMap, height: Int, width: Int) -> FeatureMap {
        timed("bilinear resize") { base.resizeBilinear(x, height: height, width: width) }
    }
}
