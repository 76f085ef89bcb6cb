extension SpkDeblurNetConfig {
    /// Floating-point operations of one forward pass at `height x width` (2 per
    /// multiply-add), counting convolutions, linears and the attention products.
    /// - Returns: the total the reference computes, and the part spent on the S anchor
    ///   layers whose output the reference discards (which this implementation skips).
    public func flops(height: Int, width: Int) -> (total: Double, discarded: Double) {
        func conv(_ h: Int, _ w: Int, _ cin: Int, _ cout: Int, _ k: Int, _ groups: Int = 1) -> Double {
            2 * Double(h * w) * Double(cout) * Double(cin / groups * k * k)
        }
        let m = 4 * D_window_size
        let (h2, w2) = ((height + 1) / 2, (width + 1) / 2)
        let (h4, w4) = ((height + 3) / 4, (width + 3) / 4)
        let (ph, pw) = ((h4 + m - 1) / m * m, (w4 + m - 1) / m * m)
        let tokens = Double(ph * pw)
        func rstb(dim: Int, depth: Int, window: Int) -> Double {
            let c = Double(dim), n = Double(window * window)
            // The sides the blocks run at: the full grid, and with `ms` also the half and
            // quarter sizes rounded down to whole windows.
            var sides = [(ph, pw)]
            if ms {
                for d in [2, 4] { sides.append((ph / d - (ph / d) % window, pw / d - (pw / d) % window)) }
            }
            var f = 0.0
            for (sh, sw) in sides {
                let t = Double(sh * sw)
                let k = use_conv ? 9.0 : 1.0  // use_conv: qkv and proj are 3x3 convolutions
                for _ in 0..<depth {
                    f += 2 * t * c * 3 * c * k  // qkv
                    f += 2 * 2 * t * n * c  // q k^T and A v
                    f += 2 * t * c * c * k  // proj
                    if use_mlp { f += 2 * 2 * t * c * 2 * c }  // fc1, fc2
                    if use_mlp && use_conv { f += 2 * t * 2 * c * 9 }  // depthwise 3x3 in the MLP
                }
            }
            if ms { f += conv(ph, pw, 3 * dim, dim, 1) }  // fuse_layer
            return f + conv(ph, pw, dim, dim, 3)
        }
        func tcaf(_ c1: Int, _ c2: Int) -> Double {
            var f = conv(ph, pw, c1, c1, 1) + 2 * conv(ph, pw, c2, c2, 1)
            f += conv(ph, pw, c1, c1, 3, c1) + 2 * conv(ph, pw, c2, c2, 3, c2)
            f += 2 * 2 * tokens * Double(c1 / 4) * Double(c2)  // q k^T and A v over 4 heads
            f += conv(ph, pw, c1, c1, 1)  // project_out
            f += 2 * 2 * tokens * Double(c1) * Double(4 * c1)  // ffn
            return f
        }
        var total = conv(h2, w2, D_in_chs, D_embed_dim, 3) + conv(h4, w4, D_embed_dim, D_embed_dim, 3)
        for d in D_depths { total += rstb(dim: D_embed_dim, depth: d, window: D_window_size) }
        total += 2 * conv(ph, pw, D_embed_dim, 16 * D_out_chs, 3)
        total += conv(h4, w4, S_in_chs, S_embed_dim, 3)
        var discarded = 0.0
        for (i, d) in S_depths.enumerated() {
            let f = rstb(dim: S_embed_dim, depth: d, window: S_window_size)
            total += f
            if i < S_anchor_num_layers - 1 { discarded += f }
        }
        total += conv(ph, pw, S_embed_dim, S_embed_dim, 3) + conv(ph, pw, S_embed_dim, 16 * S_out_chs, 3)
        total += conv(height, width, 2, 32, 3) + conv(height, width, 33, 1, 1)
        total += conv(h2, w2, 1, S_embed_dim, 3) + conv(h4, w4, S_embed_dim, S_embed_dim, 3)
        total += tcaf(S_embed_dim, S_embed_dim) + tcaf(D_embed_dim, S_embed_dim)
        return (total, discarded)
    }
}
