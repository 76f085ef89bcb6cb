#!/usr/bin/env python3
"""Writes the procedural scenes embedded for the demo (pipelines/assets/scenes/*.png).

Deterministic: seeded shapes, stripes, rings and gradients with sharp edges, so motion blur
is plainly visible and deblurring can be judged. Usage: python3 tools/make_demo_scenes.py
"""
import os
import zlib
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipelines", "assets", "scenes")


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def scene(seed, h=320, w=320):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    base = rng.uniform(0.15, 0.5, 3)
    img[:] = base + 0.25 * np.stack([xx / w, yy / h, 1 - xx / w], -1)
    for _ in range(18):
        kind = rng.integers(0, 4)
        colour = rng.uniform(0.05, 0.95, 3)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        if kind == 0:  # disc
            r = rng.uniform(8, 40)
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = colour
        elif kind == 1:  # rectangle
            a, b = rng.uniform(10, 60, 2)
            img[(abs(xx - cx) < a) & (abs(yy - cy) < b)] = colour
        elif kind == 2:  # rings
            r = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
            m = (r < 50) & ((r // 5) % 2 == 0)
            img[m] = colour
        else:  # stripes patch
            a = rng.uniform(20, 50)
            m = (abs(xx - cx) < a) & (abs(yy - cy) < a) & (((xx + yy) // 4) % 2 == 0)
            img[m] = colour
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for i in range(3):
        write_png(os.path.join(OUT, f"scene{i}.png"), scene(100 + i))
    print("wrote", OUT)
