#!/usr/bin/env python3
"""Draws a training run's curves from its log.csv (Pillow only): training loss (log scale) and
held-out PSNR of the model's `sharp` and `quick_sharp` outputs against the blurry input.

    python3 tools/train/plot_log.py tools/train/runs/compact48/log.csv tools/train/runs/compact48/curve.png
"""

from __future__ import annotations

import csv
import math
import sys

from PIL import Image, ImageDraw

W, H, PAD = 1000, 380, 56


def read(path):
    train, held = [], []
    with open(path) as f:
        for row in csv.DictReader(f):
            step = int(row["step"])
            if row["kind"] == "train" and row["loss"]:
                train.append((step, float(row["loss"])))
            elif row["kind"] == "eval" and row["psnr_sharp"]:
                held.append((step, float(row["psnr_blurry"]), float(row["psnr_quick"]), float(row["psnr_sharp"])))
    return train, held


def panel(draw, box, title, series, xmax, ylog=False):
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=(0, 0, 0))
    draw.text((x0 + 6, y0 - 16), title, fill=(0, 0, 0))
    values = [v for _, pts, _ in series for _, v in pts]
    if not values:
        draw.text((x0 + 20, (y0 + y1) // 2), "no data yet", fill=(0, 0, 0))
        return
    f = (lambda v: math.log10(max(v, 1e-9))) if ylog else (lambda v: v)
    lo, hi = min(map(f, values)), max(map(f, values))
    if hi - lo < 1e-6:
        lo, hi = lo - 0.5, hi + 0.5
    margin = 0.05 * (hi - lo)
    lo, hi = lo - margin, hi + margin

    def xy(step, v):
        return (x0 + (x1 - x0) * step / max(xmax, 1), y1 - (y1 - y0) * (f(v) - lo) / (hi - lo))

    for k in range(5):
        yv = lo + (hi - lo) * k / 4
        y = y1 - (y1 - y0) * k / 4
        draw.line((x0, y, x0 + 4, y), fill=(0, 0, 0))
        draw.text((x0 - PAD + 4, y - 6), f"{10 ** yv:.3g}" if ylog else f"{yv:.1f}", fill=(0, 0, 0))
    draw.text((x1 - 80, y1 + 4), f"step {xmax}", fill=(0, 0, 0))
    for ly, (name, pts, colour) in enumerate(series):
        if len(pts) > 1:
            draw.line([xy(s, v) for s, v in pts], fill=colour, width=2)
        elif pts:
            cx, cy = xy(*pts[0])
            draw.ellipse((cx - 3, cy - 3, cx + 3, cy + 3), fill=colour)
        draw.text((x1 - 170, y0 + 6 + 14 * ly), name, fill=colour)


def main(argv=None):
    argv = argv if argv is not None else sys.argv[1:]
    if len(argv) != 2:
        raise SystemExit("usage: plot_log.py LOG.csv OUT.png")
    train, held = read(argv[0])
    xmax = max([s for s, _ in train] + [h[0] for h in held] + [1])
    im = Image.new("RGB", (W, 2 * H), "white")
    d = ImageDraw.Draw(im)
    panel(d, (PAD, 30, W - 20, H - 30), "training loss (L1 sum, mean per log interval)",
          [("loss", train, (200, 60, 30))], xmax, ylog=True)
    panel(d, (PAD, H + 30, W - 20, 2 * H - 30), "held-out PSNR (dB)",
          [("sharp", [(h[0], h[3]) for h in held], (30, 90, 200)),
           ("quick_sharp", [(h[0], h[2]) for h in held], (120, 160, 230)),
           ("blurry input", [(h[0], h[1]) for h in held], (90, 90, 90))], xmax)
    im.save(argv[1])
    print(f"{argv[1]}: {len(train)} loss points, {len(held)} evaluations")


if __name__ == "__main__":
    main()
