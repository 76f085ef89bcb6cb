"""Spike data helpers and the Spk-GoPro dataset layout (numpy only, torch not needed here).

Layout::

    ROOT/GOPRO_Large/{train,test}/SEQ/blur_gamma/NAME.png
    ROOT/GOPRO_Large/{train,test}/SEQ/sharp/NAME.png
    ROOT/GOPRO_Large_spike_seq/{train,test}/SEQ/spike/NAME.dat

Each ``.dat`` holds the spike frames (half the RGB resolution) recorded during the exposure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np


class DataError(ValueError):
    """Bad or missing training data; the message names the file and the problem."""


def decode_dat(path: str, height: int, width: int, frames: Optional[int] = None) -> np.ndarray:
    """Decodes a raw spike stream into a [T, height, width] uint8 array of 0/1.

    Frames are stored back to back, ``height*width/8`` bytes each, least significant bit first,
    row-major, upside down (decoded row r is stored row height-1-r).
    """
    if (height * width) % 8 != 0:
        raise DataError(f"{path}: frame size {height}x{width} is not a multiple of 8 pixels")
    frame_bytes = height * width // 8
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % frame_bytes != 0:
        raise DataError(f"{path}: size {raw.size} bytes is not a whole number of "
                        f"{height}x{width} frames ({frame_bytes} bytes each)")
    t = raw.size // frame_bytes
    if frames is not None:
        if frames > t:
            raise DataError(f"{path}: holds {t} spike frames, {frames} needed")
        start = t // 2 - frames // 2
        raw = raw[start * frame_bytes:(start + frames) * frame_bytes]
        t = frames
    bits = np.unpackbits(raw.reshape(t, frame_bytes), axis=1, bitorder="little")
    return bits.reshape(t, height, width)[:, ::-1, :].copy()


def middle_window(total: int, frames: int) -> Tuple[int, int]:
    """[start, end) of the ``frames`` middle frames of a ``total``-frame stream."""
    start = total // 2 - frames // 2
    return start, start + frames


def middle_tfi(spike: np.ndarray, middle: int, window: int = 50) -> np.ndarray:
    """Texture-from-interval at frame ``middle`` of a [T, H, W] 0/1 array (float32 [H, W]).

    Nearest spike at or before ``middle`` (looking back ``window-1`` frames) and nearest after it
    (up to ``window`` frames ahead); ``1 / (right - left)``. A spike at index 0 counts as no
    spike; no spike on the left gives ``middle - window``, none on the right ``middle + window``.
    """
    t, h, w = spike.shape
    s = spike != 0
    left = np.zeros((h, w), dtype=np.int64)
    found = np.zeros((h, w), dtype=bool)
    for l in range(middle, max(middle - window, 0), -1):  # l >= 1: index 0 never counts
        if l >= t:
            continue
        hit = s[l] & ~found
        left[hit] = l
        found |= hit
    left[~found] = middle - window
    right = np.zeros((h, w), dtype=np.int64)
    found = np.zeros((h, w), dtype=bool)
    for r in range(middle + 1, min(middle + window + 1, t)):
        hit = s[r] & ~found
        right[hit] = r
        found |= hit
    right[~found] = middle + window
    return (1.0 / (right - left)).astype(np.float32)


def load_rgb(path: str) -> np.ndarray:
    """HxWx3 uint8 RGB from an image file."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read image ({e})") from None


def luma_u8(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma rounded to uint8 (the 'L' conversion the training data used)."""
    r = rgb[..., 0].astype(np.uint32)
    g = rgb[..., 1].astype(np.uint32)
    b = rgb[..., 2].astype(np.uint32)
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


@dataclass(frozen=True)
class Sample:
    blur: str
    sharp: str
    spike: str


def list_samples(root: str, split: str) -> List[Sample]:
    """All (blur, sharp, spike) triples of one split, sorted by path."""
    rgb_root = os.path.join(root, "GOPRO_Large", split)
    if not os.path.isdir(rgb_root):
        raise DataError(f"{rgb_root}: missing directory (expected GOPRO_Large/{split}/SEQ/blur_gamma)")
    out = []
    for seq in sorted(os.listdir(rgb_root)):
        bdir = os.path.join(rgb_root, seq, "blur_gamma")
        if not os.path.isdir(bdir):
            continue
        for name in sorted(os.listdir(bdir)):
            if not name.lower().endswith(".png"):
                continue
            stem = os.path.splitext(name)[0]
            sharp = os.path.join(rgb_root, seq, "sharp", name)
            spike = os.path.join(root, "GOPRO_Large_spike_seq", split, seq, "spike", stem + ".dat")
            for p in (sharp, spike):
                if not os.path.isfile(p):
                    raise DataError(f"{p}: missing (pairs with {os.path.join(bdir, name)})")
            out.append(Sample(os.path.join(bdir, name), sharp, spike))
    if not out:
        raise DataError(f"{rgb_root}: no SEQ/blur_gamma/*.png images found")
    return out


def load_sample(s: Sample, frames: int):
    """(blur uint8 HxWx3, sharp uint8 HxWx3, spike uint8 [frames, H/2, W/2])."""
    blur = load_rgb(s.blur)
    sharp = load_rgb(s.sharp)
    if blur.shape != sharp.shape:
        raise DataError(f"{s.sharp}: size {sharp.shape[:2]} differs from blurry {blur.shape[:2]}")
    h, w = blur.shape[:2]
    if h % 2 or w % 2:
        raise DataError(f"{s.blur}: size {h}x{w} must be even (spikes are half resolution)")
    spike = decode_dat(s.spike, h // 2, w // 2, frames)
    return blur, sharp, spike


def random_crop_augment(rng: np.random.Generator, blur, sharp, spike, crop: int):
    """Random crop (``crop`` RGB pixels, ``crop/2`` spike pixels, aligned) then random
    horizontal flip, vertical flip and 90-degree rotation applied to all arrays alike."""
    h, w = spike.shape[1:]
    c = crop // 2
    if crop % 2 or c > h or c > w:
        raise DataError(f"crop {crop}: must be even and at most the RGB size {2 * h}x{2 * w}")
    top = int(rng.integers(0, h - c + 1))
    left = int(rng.integers(0, w - c + 1))
    blur = blur[2 * top:2 * (top + c), 2 * left:2 * (left + c)]
    sharp = sharp[2 * top:2 * (top + c), 2 * left:2 * (left + c)]
    spike = spike[:, top:top + c, left:left + c]
    hflip, vflip, rot = rng.random(3) < 0.5
    # image arrays are HxWxC, spikes TxHxW
    if hflip:
        blur, sharp, spike = blur[:, ::-1], sharp[:, ::-1], spike[:, :, ::-1]
    if vflip:
        blur, sharp, spike = blur[::-1], sharp[::-1], spike[:, ::-1]
    if rot:
        blur, sharp = np.rot90(blur, 1, (0, 1)), np.rot90(sharp, 1, (0, 1))
        spike = np.rot90(spike, 1, (1, 2))
    return (np.ascontiguousarray(blur), np.ascontiguousarray(sharp), np.ascontiguousarray(spike))


def make_inputs(blur_u8, sharp_u8, spike_u8):
    """float32 CHW tensors-as-arrays: blur, gt, gt_gray, spike, tfi (= middleTFI(T//2)/0.5)."""
    t = spike_u8.shape[0]
    blur = blur_u8.transpose(2, 0, 1).astype(np.float32) / 255.0
    gt = sharp_u8.transpose(2, 0, 1).astype(np.float32) / 255.0
    gray = luma_u8(sharp_u8)[None].astype(np.float32) / 255.0
    spike = spike_u8.astype(np.float32)
    tfi = (middle_tfi(spike_u8, t // 2, 50) / 0.5)[None].astype(np.float32)
    return blur, gt, gray, spike, tfi
