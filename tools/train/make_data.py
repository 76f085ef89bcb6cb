#!/usr/bin/env python3
"""Builds the training and held-out data for the embedded model, offline and reproducibly.

Sources (all from Debian packages or pip wheels already used by the project, listed in
docs/training.md):
  * KDE Plasma wallpapers (Debian: plasma-workspace-wallpapers), the largest image of each,
  * GNOME backgrounds (Debian: gnome-backgrounds), the bitmap ones,
  * scikit-image's bundled pictures (pip: scikit-image),
  * procedural textures made here from a seed (dead leaves, coloured noise, stripes and
    checkers, random strokes),
  * with `--sources v2`, also the pictures of EXTRA_PACKAGES (Lomiri, MATE and UKUI
    wallpapers), one per picture (a picture shipped at several sizes counts once).
The held-out photographs (HELD_OUT) are never used for training.

Each training source becomes several prepared pictures (random rescale and crop, so one
wallpaper gives several scales of detail); `spkdeblur simulate` then renders recordings with
the hand-held motion model and the varied sensor. The held-out split is rendered with the
same motion model at the nominal sensor, and again with the sensor changed (threshold 0.75x
and 1.5x, 1% spurious spikes) for the robustness table.

    python3 tools/train/make_data.py --bin .build/release/spkdeblur --out data/train-v1
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

HELD_OUT = {
    "skimage:astronaut", "skimage:chelsea", "skimage:coffee", "skimage:rocket",
    "plasma:BytheWater", "plasma:FallenLeaf",
}
SKIMAGE_PICTURES = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina",
                    "immunohistochemistry", "brick", "grass", "gravel", "camera", "moon", "page", "text"]
# The held-out recordings: nominal sensor, then the robustness variants (name, extra simulate options).
HELD_OUT_VARIANTS = [
    ("heldout", []),
    ("heldout-thr0.75", ["--threshold", "1.5"]),
    ("heldout-thr1.5", ["--threshold", "3.0"]),
    ("heldout-spurious1", ["--spurious-rate", "0.01"]),
]
WIDTH, HEIGHT = 320, 256
# The second source set adds these Debian packages' pictures, listed with `dpkg -L`.
EXTRA_PACKAGES = ["lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "mate-backgrounds", "ukui-wallpapers"]


def package_pictures(package):
    """(name, path) for the bitmaps a Debian package installs; `Name_3840x2160.jpg` beside
    `Name.jpg` is the same picture and is left out, as are empty files and links."""
    import re
    listed = subprocess.run(["dpkg", "-L", package], check=True, capture_output=True, text=True).stdout
    files = sorted(f for f in listed.split("\n") if f.lower().endswith((".png", ".jpg", ".jpeg"))
                   and os.path.isfile(f) and not os.path.islink(f) and os.path.getsize(f) > 0)
    stems = {os.path.splitext(f)[0] for f in files}
    out = []
    for f in files:
        stem = os.path.splitext(f)[0]
        if re.search(r"_\d+x\d+$", stem) and re.sub(r"_\d+x\d+$", "", stem) in stems:
            continue
        out.append((f"{package}:{os.path.basename(stem)}", f))
    return out


def list_sources(version="v1"):
    """(name, loader) for every source picture, sorted by name; v2 appends EXTRA_PACKAGES."""
    out = []
    for d in sorted(glob.glob("/usr/share/wallpapers/*/contents/images")):
        files = [f for f in glob.glob(os.path.join(d, "*")) if f.lower().endswith((".png", ".jpg", ".jpeg"))]
        if not files:
            continue
        best = max(files, key=lambda f: Image.open(f).size[0] * Image.open(f).size[1])
        out.append((f"plasma:{d.split('/')[-3]}", lambda f=best: Image.open(f)))
    for f in sorted(glob.glob("/usr/share/backgrounds/gnome/*")):
        if f.lower().endswith((".png", ".jpg", ".jpeg", ".webp")):
            out.append((f"gnome:{os.path.splitext(os.path.basename(f))[0]}", lambda f=f: Image.open(f)))
    try:
        import skimage.data as skd
        for n in SKIMAGE_PICTURES:
            if hasattr(skd, n):
                out.append((f"skimage:{n}", lambda n=n: Image.fromarray(getattr(skd, n)())))
    except ImportError:
        print("make_data: scikit-image missing, its pictures are left out", file=sys.stderr)
    if version == "v2":
        for package in EXTRA_PACKAGES:
            try:
                pictures = package_pictures(package)
            except (OSError, subprocess.CalledProcessError):
                raise SystemExit(f"make_data: package {package} is not installed (needed by --sources v2)")
            out.extend((name, lambda f=f: Image.open(f)) for name, f in pictures)
    return out


def dead_leaves(rng, size):
    img = np.zeros((size, size, 3), np.float32)
    filled = np.zeros((size, size), bool)
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(4000):
        r = size * 0.4 * rng.random() ** 3 + 2
        cx, cy = rng.random(2) * size
        colour = rng.random(3)
        if rng.random() < 0.5:
            m = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        else:
            a, b = r * (0.5 + rng.random()), r * (0.5 + rng.random())
            th = rng.random() * np.pi
            u = (xx - cx) * np.cos(th) + (yy - cy) * np.sin(th)
            v = -(xx - cx) * np.sin(th) + (yy - cy) * np.cos(th)
            m = (np.abs(u) <= a) & (np.abs(v) <= b)
        m &= ~filled
        img[m] = colour
        filled |= m
        if filled.all():
            break
    return img


def coloured_noise(rng, size):
    img = np.zeros((size, size, 3), np.float32)
    for octave in range(1, 7):
        n = 2 ** octave + 1
        grid = rng.random((n, n, 3)).astype(np.float32)
        up = np.array(Image.fromarray((grid * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC),
                      np.float32) / 255
        img += up * (0.6 ** octave)
    img -= img.min()
    return img / max(img.max(), 1e-6)


def stripes(rng, size):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = np.zeros((size, size, 3), np.float32)
    for _ in range(3):
        th = rng.random() * np.pi
        period = 4 + rng.random() * 40
        phase = (xx * np.cos(th) + yy * np.sin(th)) / period
        wave = (np.sin(2 * np.pi * phase) > 0) if rng.random() < 0.5 else 0.5 + 0.5 * np.sin(2 * np.pi * phase)
        img += np.asarray(wave, np.float32)[..., None] * rng.random(3)
    img -= img.min()
    return img / max(img.max(), 1e-6)


def strokes(rng, size):
    from PIL import ImageDraw
    im = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 256, 3)))
    d = ImageDraw.Draw(im)
    for _ in range(300):
        pts = [tuple(rng.random(2) * size) for _ in range(2 + int(rng.integers(0, 3)))]
        d.line(pts, fill=tuple(int(v) for v in rng.integers(0, 256, 3)), width=int(1 + rng.integers(0, 6)))
    return np.asarray(im, np.float32) / 255


def textures(count, seed):
    makers = [dead_leaves, coloured_noise, stripes, strokes]
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        img = makers[i % len(makers)](rng, 640)
        yield f"texture:{makers[i % len(makers)].__name__}-{i:03d}", Image.fromarray((img * 255 + 0.5).astype(np.uint8))


def prepared(rng, im, count):
    """`count` random rescales and crops of a picture (long side 420-1400 px, crop <= 900)."""
    im = im.convert("RGB")
    w, h = im.size
    for _ in range(count):
        long_side = rng.uniform(420, 1400)
        s = min(long_side / max(w, h), 1.0)
        sw, sh = max(int(w * s), WIDTH + 2), max(int(h * s), HEIGHT + 2)
        small = im.resize((sw, sh), Image.LANCZOS)
        cw, ch = min(sw, 900), min(sh, 900)
        x0, y0 = int(rng.integers(0, sw - cw + 1)), int(rng.integers(0, sh - ch + 1))
        yield small.crop((x0, y0, x0 + cw, y0 + ch))


def split_sources(names):
    """(training names, held-out names): every HELD_OUT picture goes to the held-out side only."""
    held = [n for n in names if n in HELD_OUT]
    return [n for n in names if n not in HELD_OUT], held


def simulate(binary, images, out, split, seed, sequences, frames, extra):
    cmd = [binary, "simulate", "--images", images, "--out", out, "--split", split, "--seed", str(seed),
           "--sequences", str(sequences), "--frames-per-sequence", str(frames),
           "--width", str(WIDTH), "--height", str(HEIGHT), "--motion", "handheld", "--max-blur", "0.1"] + extra
    print("make_data:", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", required=True, help="the spkdeblur binary")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--crops-per-image", type=int, default=6)
    p.add_argument("--textures", type=int, default=80)
    p.add_argument("--sequences", type=int, default=1500, help="training sequences")
    p.add_argument("--frames", type=int, default=3, help="blurry frames per training sequence")
    p.add_argument("--sources", choices=("v1", "v2"), default="v1",
                   help="v1: Plasma, GNOME, scikit-image and textures; v2: also EXTRA_PACKAGES")
    a = p.parse_args(argv)

    rng = np.random.default_rng(a.seed)
    train_dir = os.path.join(a.out, "sources", "train")
    held_dir = os.path.join(a.out, "sources", "heldout")
    for d in (train_dir, held_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    manifest = []
    sources = list_sources(a.sources)
    missing = HELD_OUT - {n for n, _ in sources}
    if missing:
        raise SystemExit(f"make_data: held-out sources missing: {sorted(missing)} (install the packages in docs/training.md)")
    train_names, _ = split_sources([n for n, _ in sources])
    for name, load in sources + list(textures(a.textures, a.seed)):
        im = load() if callable(load) else load
        safe = name.replace(":", "-")
        if name not in train_names and not name.startswith("texture:"):
            im = im.convert("RGB")
            s = min(720 / max(im.size), 1.0)
            im.resize((max(int(im.size[0] * s), WIDTH + 2), max(int(im.size[1] * s), HEIGHT + 2)),
                      Image.LANCZOS).save(os.path.join(held_dir, safe + ".png"))
            manifest.append(f"heldout\t{name}")
            continue
        n = 1 if name.startswith("texture:") else a.crops_per_image
        for k, crop in enumerate(prepared(rng, im, n)):
            crop.save(os.path.join(train_dir, f"{safe}-{k}.png"))
        manifest.append(f"train\t{name}\t{n}")
    with open(os.path.join(a.out, "sources.tsv"), "w") as f:
        f.write("\n".join(manifest) + "\n")

    root = os.path.join(a.out, "sim")
    shutil.rmtree(root, ignore_errors=True)
    simulate(a.bin, train_dir, root, "train", a.seed, a.sequences, a.frames,
             ["--threshold-scale", "0.6:1.7", "--threshold-spread", "0.05", "--spurious-rate", "0:0.015"])
    held = sorted(os.listdir(held_dir))
    for variant, extra in HELD_OUT_VARIANTS:
        simulate(a.bin, held_dir, os.path.join(a.out, variant), "test", a.seed + 7, len(held), 4, extra)
    digest = hashlib.sha256(open(os.path.join(a.out, "sources.tsv"), "rb").read()).hexdigest()[:16]
    print(f"make_data: {sum(1 for m in manifest if m.startswith('train'))} training sources, "
          f"{len(held)} held-out photographs; manifest {digest}")


if __name__ == "__main__":
    main()
