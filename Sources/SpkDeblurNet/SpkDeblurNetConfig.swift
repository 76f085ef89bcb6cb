import Checkpoint
import Foundation

/// Every constructor option of the reference `SpkDeblurNet`, under the reference keyword
/// names (so a JSON object of those keywords decodes directly).
public struct SpkDeblurNetConfig: Codable, Sendable, Equatable {
    public var D_img_size = 256
    public var S_img_size = 128
    public var D_in_chs = 3
    public var S_in_chs = 65
    public var D_out_chs = 3
    public var S_out_chs = 1
    public var D_embed_dim = 180
    public var S_embed_dim = 60
    public var D_depths = [6, 6, 6, 6, 6, 6]
    public var S_depths = [6, 6, 6, 6]
    public var D_num_heads = [6, 6, 6, 6, 6, 6]
    public var S_num_heads = [6, 6, 6, 6]
    public var D_window_size = 8
    public var S_window_size = 8
    public var D_anchor_num_layers = 3
    public var S_anchor_num_layers = 3
    public var use_mlp = true
    public var use_conv = false
    public var skip = true
    public var ms = false

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case D_img_size, S_img_size, D_in_chs, S_in_chs, D_out_chs, S_out_chs, D_embed_dim, S_embed_dim
        case D_depths, S_depths, D_num_heads, S_num_heads, D_window_size, S_window_size
        case D_anchor_num_layers, S_anchor_num_layers, use_mlp, use_conv, skip, ms
    }

    /// The reference defaults, with `S_in_chs` 56 as the published GoPro checkpoints use.
    public static let published = SpkDeblurNetConfig(S_in_chs: 56)

    /// A config with the reference defaults, optionally overriding `S_in_chs`.
    public init(S_in_chs: Int = 65) { self.S_in_chs = S_in_chs }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func v<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        let d = SpkDeblurNetConfig()
        D_img_size = try v(.D_img_size, d.D_img_size)
        S_img_size = try v(.S_img_size, d.S_img_size)
        D_in_chs = try v(.D_in_chs, d.D_in_chs)
        S_in_chs = try v(.S_in_chs, d.S_in_chs)
        D_out_chs = try v(.D_out_chs, d.D_out_chs)
        S_out_chs = try v(.S_out_chs, d.S_out_chs)
        D_embed_dim = try v(.D_embed_dim, d.D_embed_dim)
        S_embed_dim = try v(.S_embed_dim, d.S_embed_dim)
        D_depths = try v(.D_depths, d.D_depths)
        S_depths = try v(.S_depths, d.S_depths)
        D_num_heads = try v(.D_num_heads, d.D_num_heads)
        S_num_heads = try v(.S_num_heads, d.S_num_heads)
        D_window_size = try v(.D_window_size, d.D_window_size)
        S_window_size = try v(.S_window_size, d.S_window_size)
        D_anchor_num_layers = try v(.D_anchor_num_layers, d.D_anchor_num_layers)
        S_anchor_num_layers = try v(.S_anchor_num_layers, d.S_anchor_num_layers)
        use_mlp = try v(.use_mlp, d.use_mlp)
        use_conv = try v(.use_conv, d.use_conv)
        skip = try v(.skip, d.skip)
        ms = try v(.ms, d.ms)
    }

    /// Decodes a JSON object of constructor keywords, at the top level or under `"config"`.
    /// Unknown keywords are an error naming them.
    /// - Throws: ``SpkDeblurNetError/invalidConfig(field:problem:)``.
    public static func decode(json data: Data, source: String) throws(SpkDeblurNetError) -> SpkDeblurNetConfig {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw .invalidConfig(field: source, problem: "not valid JSON")
        }
        guard var dict = object as? [String: Any] else {
            throw .invalidConfig(field: source, problem: "not a JSON object")
        }
        if let inner = dict["config"] as? [String: Any] { dict = inner }
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        let ignored: Set<String> = ["norm_layer", "mlp_ratio"]
        if let unknown = dict.keys.sorted().first(where: { !known.contains($0) && !ignored.contains($0) }) {
            throw .invalidConfig(field: unknown, problem: "unknown SpkDeblurNet keyword in \(source)")
        }
        dict = dict.filter { known.contains($0.key) }
        do {
            let clean = try JSONSerialization.data(withJSONObject: dict)
            return try JSONDecoder().decode(SpkDeblurNetConfig.self, from: clean)
        } catch {
            throw .invalidConfig(field: source, problem: "bad value: \(error)")
        }
    }

    /// The config as a JSON object string (sorted keys).
    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    /// Checks values this implementation (and the reference forward pass) can run.
    /// - Throws: ``SpkDeblurNetError/invalidConfig(field:problem:)``.
    public func validate() throws(SpkDeblurNetError) {
        guard D_depths.count == D_num_heads.count else {
            throw .invalidConfig(
                field: "D_num_heads", problem: "has \(D_num_heads.count) entries for \(D_depths.count) D layers")
        }
        guard S_depths.count == S_num_heads.count else {
            throw .invalidConfig(
                field: "S_num_heads", problem: "has \(S_num_heads.count) entries for \(S_depths.count) S layers")
        }
        guard D_anchor_num_layers >= 1, D_anchor_num_layers <= D_depths.count else {
            throw .invalidConfig(
                field: "D_anchor_num_layers",
                problem: "must be in 1...\(D_depths.count) (the reference forward needs at least one anchor layer)")
        }
        guard S_anchor_num_layers >= 1, S_anchor_num_layers <= S_depths.count else {
            throw .invalidConfig(field: "S_anchor_num_layers", problem: "must be in 1...\(S_depths.count)")
        }
        guard skip else {
            throw .invalidConfig(
                field: "skip", problem: "false is not runnable: the reference forward leaves mid_blur_fea undefined")
        }
        guard D_window_size == S_window_size else {
            throw .invalidConfig(
                field: "S_window_size", problem: "must equal D_window_size: the fusion needs equal padded token grids")
        }
        for (i, h) in D_num_heads.enumerated() where D_embed_dim % h != 0 {
            throw .invalidConfig(field: "D_num_heads[\(i)]", problem: "\(h) does not divide D_embed_dim \(D_embed_dim)")
        }
        for (i, h) in S_num_heads.enumerated() where S_embed_dim % h != 0 {
            throw .invalidConfig(field: "S_num_heads[\(i)]", problem: "\(h) does not divide S_embed_dim \(S_embed_dim)")
        }
        guard S_embed_dim % 4 == 0, D_embed_dim % 4 == 0 else {
            throw .invalidConfig(
                field: "S_embed_dim", problem: "embed dims must be multiples of the 4 cross-attention heads")
        }
    }

    /// Infers what the tensor shapes of a checkpoint determine (embed dims, input and output
    /// channels, depths, heads, windows, image sizes from the masks, `use_mlp`, `use_conv`,
    /// `ms`), starting from `base` for the rest (the anchor counts cannot be inferred).
    public static func inferred(from dict: StateDict, base: SpkDeblurNetConfig = .published) -> SpkDeblurNetConfig {
        var c = base
        let t = dict.tensors
        if let w = t["D_conv_down.0.weight"], w.shape.count == 4 { c.D_embed_dim = w.shape[0]; c.D_in_chs = w.shape[1] }
        if let w = t["S_conv_down.0.weight"], w.shape.count == 4 { c.S_embed_dim = w.shape[0]; c.S_in_chs = w.shape[1] }
        if let w = t["D_mid_shuffle_up.0.weight"], w.shape.count == 4 { c.D_out_chs = w.shape[0] / 16 }
        if let w = t["S_shuffle_up.0.weight"], w.shape.count == 4 { c.S_out_chs = w.shape[0] / 16 }
        func layers(_ prefix: String) -> (depths: [Int], heads: [Int], window: Int?, imgSize: Int?) {
            var depths: [Int] = [], heads: [Int] = [], window: Int?, img: Int?
            var i = 0
            while t.keys.contains(where: { $0.hasPrefix("\(prefix).\(i).") }) {
                var j = 0
                while t["\(prefix).\(i).residual_group.blocks.\(j).norm1.weight"] != nil { j += 1 }
                depths.append(j)
                let table = t["\(prefix).\(i).residual_group.blocks.0.attn.relative_position_bias_table"]
                heads.append(table?.shape.last ?? 6)
                if let rows = table?.shape.first {
                    let side = Int(Double(rows).squareRoot().rounded())
                    window = (side + 1) / 2
                }
                if let mask = t["\(prefix).\(i).residual_group.blocks.1.attn_mask"], let nW = mask.shape.first,
                    let w = window
                {
                    let perSide = Int(Double(nW).squareRoot().rounded())
                    img = perSide * w * w
                }
                i += 1
            }
            return (depths, heads, window, img)
        }
        let d = layers("D_layers")
        if !d.depths.isEmpty { c.D_depths = d.depths; c.D_num_heads = d.heads }
        if let w = d.window { c.D_window_size = w }
        if let s = d.imgSize { c.D_img_size = s }
        let s = layers("S_layers")
        if !s.depths.isEmpty { c.S_depths = s.depths; c.S_num_heads = s.heads }
        if let w = s.window { c.S_window_size = w }
        if let z = s.imgSize { c.S_img_size = z }
        c.use_mlp = t["D_layers.0.residual_group.blocks.0.mlp.fc1.weight"] != nil || t.isEmpty
        c.use_conv = (t["D_layers.0.residual_group.blocks.0.attn.qkv.weight"]?.shape.count ?? 2) == 4
        c.ms = t["D_layers.0.fuse_layer.weight"] != nil
        c.D_anchor_num_layers = min(c.D_anchor_num_layers, c.D_depths.count)
        c.S_anchor_num_layers = min(c.S_anchor_num_layers, c.S_depths.count)
        return c
    }
}
