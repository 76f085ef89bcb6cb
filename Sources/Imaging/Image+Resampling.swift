extension Image {
    /// Bilinear resize with PyTorch's `interpolate(mode="bilinear", align_corners=False)`
    /// semantics, no antialiasing: `src = (dst + 0.5) * in / out - 0.5`, clamped below at 0;
    /// neighbours `floor(src)` and `min(floor + 1, in - 1)`.
    public func resizedBilinear(width w: Int, height h: Int) -> Image {
        if w == width && h == height { return self }
        var out = Image(width: w, height: h, channels: channels)
        let sy = Float(height) / Float(h), sx = Float(width) / Float(w)
        var x0s = [Int](repeating: 0, count: w), x1s = x0s, lxs = [Float](repeating: 0, count: w)
        for x in 0..<w {
            let f = max((Float(x) + 0.5) * sx - 0.5, 0)
            x0s[x] = min(Int(f), width - 1)
            x1s[x] = min(x0s[x] + 1, width - 1)
            lxs[x] = f - Float(x0s[x])
        }
        for y in 0..<h {
            let f = max((Float(y) + 0.5) * sy - 0.5, 0)
            let y0 = min(Int(f), height - 1)
            let y1 = min(y0 + 1, height - 1)
            let ly = f - Float(y0)
            for x in 0..<w {
                let (x0, x1, lx) = (x0s[x], x1s[x], lxs[x])
                bilinear(x0, x1, lx, y0, y1, ly, into: &out.pixels, at: (y * w + x) * channels)
            }
        }
        return out
    }

    /// Area (box) downsampling by an integer factor: each output pixel is the mean of a
    /// `factor x factor` block (OpenCV `INTER_AREA` for integer factors); trailing rows and
    /// columns that do not fill a block are dropped.
    public func downsampledArea(by factor: Int) -> Image {
        precondition(factor >= 1, "factor must be positive")
        let (w, h) = (width / factor, height / factor)
        var out = Image(width: w, height: h, channels: channels)
        let norm = 1 / Float(factor * factor)
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<channels {
                    var s: Float = 0
                    for dy in 0..<factor {
                        for dx in 0..<factor {
                            s += pixels[((y * factor + dy) * width + x * factor + dx) * channels + c]
                        }
                    }
                    out.pixels[(y * w + x) * channels + c] = s * norm
                }
            }
        }
        return out
    }

    /// Warps by a 3x3 homography (row-major) mapping OUTPUT pixel coordinates to INPUT ones
    /// (`[u v w]^T = H [x y 1]^T`, sample at `(u/w, v/w)`), bilinear sampling, pixel centres
    /// at integer coordinates; samples outside the input read the nearest edge pixel.
    public func warpedPerspective(homography m: [Double], width w: Int, height h: Int) -> Image {
        precondition(m.count == 9, "homography needs 9 values")
        var out = Image(width: w, height: h, channels: channels)
        for y in 0..<h {
            for x in 0..<w {
                let (xd, yd) = (Double(x), Double(y))
                let q = m[6] * xd + m[7] * yd + m[8]
                let u = (m[0] * xd + m[1] * yd + m[2]) / q
                let v = (m[3] * xd + m[4] * yd + m[5]) / q
                // A point mapped to infinity (q = 0) or undefined stays black.
                guard u.isFinite, v.isFinite else { continue }
                let fu = min(max(u, 0), Double(width - 1)), fv = min(max(v, 0), Double(height - 1))
                let x0 = Int(fu), y0 = Int(fv)
                let x1 = min(x0 + 1, width - 1), y1 = min(y0 + 1, height - 1)
                let lx = Float(fu - Double(x0)), ly = Float(fv - Double(y0))
                bilinear(x0, x1, lx, y0, y1, ly, into: &out.pixels, at: (y * w + x) * channels)
            }
        }
        return out
    }

    /// Writes the bilinear blend of the four pixels (x0|x1, y0|y1) with weights lx, ly, every
    /// channel, at `offset` of `out`.
    @inline(__always)
    private func bilinear(
        _ x0: Int, _ x1: Int, _ lx: Float, _ y0: Int, _ y1: Int, _ ly: Float, into out: inout [Float], at offset: Int
    ) {
        for c in 0..<channels {
            let a = pixels[(y0 * width + x0) * channels + c], b = pixels[(y0 * width + x1) * channels + c]
            let d = pixels[(y1 * width + x0) * channels + c], e = pixels[(y1 * width + x1) * channels + c]
            out[offset + c] = (1 - ly) * ((1 - lx) * a + lx * b) + ly * ((1 - lx) * d + lx * e)
        }
    }
}

/// Lays images out in a grid, for previews and exports.
public enum ContactSheet {
    /// A grid of `columns` columns with `gap` pixels of grey between cells; every image is
    /// shown at the size of the first (larger ones are cropped, smaller ones padded).
    public static func make(_ images: [Image], columns: Int, gap: Int = 4, background: Float = 0.5) -> Image {
        guard let first = images.first else { return Image(width: 1, height: 1, channels: 3) }
        let cols = max(1, min(columns, images.count))
        let rows = (images.count + cols - 1) / cols
        let (cw, ch) = (first.width, first.height)
        let sheetW = cols * cw + (cols + 1) * gap, sheetH = rows * ch + (rows + 1) * gap
        var sheet = Image(
            width: sheetW, height: sheetH, channels: 3,
            pixels: [Float](repeating: background, count: sheetW * sheetH * 3))
        for (i, image) in images.enumerated() {
            let img = image.rgb()
            let ox = gap + (i % cols) * (cw + gap), oy = gap + (i / cols) * (ch + gap)
            for y in 0..<min(ch, img.height) {
                for x in 0..<min(cw, img.width) {
                    for c in 0..<3 { sheet[ox + x, oy + y, c] = img[x, y, c] }
                }
            }
        }
        return sheet
    }
}
