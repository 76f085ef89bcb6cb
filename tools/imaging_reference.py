#!/usr/bin/env python3
"""Fixtures for the Swift Imaging tests: what the reference's Python stack reads and computes.

Writes to Tests/ImagingTests/Fixtures:
- small PNGs of every kind the reader must handle (RGB, RGBA, grey+alpha, palette with and
  without tRNS, 2-bit grey, gAMA and sRGB chunks, 16-bit RGB and grey), built byte by byte
  here, and JPEGs written by Pillow;
- expected.json: for each 8-bit file the samples of `PIL.Image.open(f).convert("RGB")` (or
  "L" for grey files), which is how the reference datasets read images before ToTensor's
  /255; for 16-bit files the stored samples (Pillow cannot express those at 16 bits);
  bilinear resizes by `torch.nn.functional.interpolate(mode="bilinear",
  align_corners=False)` and box downsampling by `interpolate(mode="area")` of a seeded
  float32 image.

Usage: python3 tools/imaging_reference.py   (numpy, Pillow, PyTorch)
"""
import io
import json
import os
import struct
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ImagingTests", "Fixtures")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, depth, colour_type, rows, before_plte=(), plte=None, trns=None):
    """A non-interlaced PNG with filter 0 rows; ancillary chunks go before PLTE/IDAT."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    for kind, data in before_plte:
        out += chunk(kind, data)
    if plte is not None:
        out += chunk(b"PLTE", plte)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    raw = b"".join(b"\0" + r for r in rows)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def main():
    os.makedirs(OUT, exist_ok=True)
    # Pillow suggests RGBA for palettes with tRNS; convert("RGB") ignoring it is the point here.
    warnings.filterwarnings("ignore", message="Palette images with Transparency")
    rng = np.random.default_rng(7)
    w, h = 5, 3
    gamma1 = [(b"gAMA", struct.pack(">I", 100000))]  # linear: the simplified libpng API converts it
    srgb = [(b"sRGB", b"\0")]
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
    grey_alpha = rng.integers(0, 256, (h, w, 2), dtype=np.uint8)
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8).tobytes()
    index = rng.integers(0, 16, (h, w), dtype=np.uint8)
    alphas = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
    grey2 = rng.integers(0, 4, (h, 8), dtype=np.uint8)
    rgb16 = rng.integers(0, 65536, (h, w, 3), dtype=np.uint16)
    grey16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
    files = {
        "rgb": png(w, h, 8, 2, [r.tobytes() for r in rgb]),
        "rgb_gamma1": png(w, h, 8, 2, [r.tobytes() for r in rgb], before_plte=gamma1),
        "rgba": png(w, h, 8, 6, [r.tobytes() for r in rgba]),
        "grey_alpha": png(w, h, 8, 4, [r.tobytes() for r in grey_alpha]),
        "grey_gamma1": png(w, h, 8, 0, [r.tobytes() for r in grey], before_plte=gamma1),
        "grey2": png(8, h, 2, 0, [np.packbits(np.unpackbits(r[:, None], axis=1)[:, 6:]).tobytes() for r in grey2]),
        "palette": png(w, h, 8, 3, [r.tobytes() for r in index], plte=palette),
        "palette_trns": png(w, h, 8, 3, [r.tobytes() for r in index], plte=palette, trns=alphas),
        "rgb16_srgb": png(w, h, 16, 2, [r.astype(">u2").tobytes() for r in rgb16], before_plte=srgb),
        "grey16": png(w, h, 16, 0, [r.astype(">u2").tobytes() for r in grey16]),
    }
    expected = {"png": [], "jpeg": []}
    for name, data in files.items():
        with open(os.path.join(OUT, name + ".png"), "wb") as f:
            f.write(data)
        if "16" in name:
            samples = rgb16 if name.startswith("rgb") else grey16
            channels, depth = (3 if samples.ndim == 3 else 1), 16
        else:
            image = Image.open(io.BytesIO(data))
            mode = "L" if image.mode in ("L", "LA", "I", "1") else "RGB"
            samples = np.asarray(image.convert(mode))
            channels, depth = (1 if mode == "L" else 3), 8
        expected["png"].append({"file": name + ".png", "width": int(samples.shape[1]),
                                "height": int(samples.shape[0]), "channels": channels, "bit_depth": depth,
                                "samples": samples.ravel().tolist()})

    # JPEGs: Pillow writes (4:2:0 at quality 90) and decodes (libjpeg-turbo, islow DCT, fancy
    # upsampling), which is what turbojpeg's defaults do too.
    yy, xx = np.mgrid[0:24, 0:32]
    smooth = np.stack([xx * 8, yy * 10, (xx + yy) * 4], axis=-1).clip(0, 255).astype(np.uint8)
    for name, image in [("rgb", Image.fromarray(smooth)), ("grey", Image.fromarray(smooth[..., 0]))]:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        with open(os.path.join(OUT, name + ".jpg"), "wb") as f:
            f.write(buffer.getvalue())
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
        expected["jpeg"].append({"file": name + ".jpg", "width": 32, "height": 24,
                                 "channels": 1 if decoded.ndim == 2 else 3, "samples": decoded.ravel().tolist()})

    # Resampling of a seeded float32 HWC image by PyTorch on the CHW tensor.
    source = rng.random((6, 10, 3), dtype=np.float32)
    tensor = torch.from_numpy(source).permute(2, 0, 1).unsqueeze(0)
    hwc = lambda t: t[0].permute(1, 2, 0).contiguous().numpy().ravel().tolist()
    expected["source"] = {"width": 10, "height": 6, "channels": 3, "pixels": source.ravel().tolist()}
    expected["bilinear"] = []
    for out_w, out_h in [(17, 9), (4, 5), (3, 2), (10, 6), (23, 1)]:
        out = F.interpolate(tensor, size=(out_h, out_w), mode="bilinear", align_corners=False)
        expected["bilinear"].append({"width": out_w, "height": out_h, "pixels": hwc(out)})
    expected["area"] = []
    for factor in [2, 3]:
        size = (6 // factor, 10 // factor)
        crop = tensor[:, :, :size[0] * factor, :size[1] * factor]
        out = F.interpolate(crop, size=size, mode="area")
        expected["area"].append({"factor": factor, "pixels": hwc(out)})
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)
    print(f"wrote {len(files)} PNGs, 2 JPEGs and expected.json to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
