#!/usr/bin/env python3
"""NumPy baseline for `spkdeblur bench spikes`.

Implements the reference algorithms with NumPy, the way the reference code does:
decoding a vidar .dat stream (bits least significant first, frames stored upside down)
with np.unpackbits, and the loop-based middleTFI (a vectorised step per frame of the
window). Prints one JSON object with the timings.
"""
import argparse
import json
import sys
import time

try:
    import numpy as np
except ImportError:  # the Swift side reports numpy as unavailable
    print(json.dumps({"error": "numpy is not installed"}))
    sys.exit(0)


def decode(raw, frames, height, width):
    """[T, H, W] float32 spikes from packed bytes, rows in display order."""
    bits = np.unpackbits(raw[: frames * height * width // 8], bitorder="little")
    return np.flip(bits.reshape(frames, height, width), axis=1).astype(np.float32)


def middle_tfi(spike, middle, window=50):
    """The reference middleTFI: nearest spike at/before and after `middle`, 1/interval."""
    count, height, width = spike.shape
    lindex = np.zeros([height, width])
    rindex = np.zeros([height, width])
    left = middle + 1
    for right in range(middle + 1, middle + window + 1):
        left -= 1
        if left >= 0:
            fresh = spike[left] * (1 - np.sign(lindex))
            lindex += left * fresh
        if right < count:
            fresh = spike[right] * (1 - np.sign(rindex))
            rindex += right * fresh
        if left < 0 and right >= count:
            break
    rindex[rindex == 0] = window + middle
    lindex[lindex == 0] = middle - window
    return (1.0 / (rindex - lindex)).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--height", type=int, default=250)
    parser.add_argument("--width", type=int, default=400)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--window", type=int, default=56)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    frame_bytes = args.height * args.width // 8
    rng = np.random.default_rng(args.seed)
    # About one spike in ten pixels per frame, like a moderately lit scene.
    raw = np.packbits(rng.random(args.frames * frame_bytes * 8) < 0.1, bitorder="little")

    start = time.perf_counter()
    for lo in range(0, args.frames, args.window):
        n = min(args.window, args.frames - lo)
        decode(raw[lo * frame_bytes:], n, args.height, args.width)
    decode_s = time.perf_counter() - start

    volume = decode(raw, args.window, args.height, args.width)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        middle_tfi(volume, args.window // 2)
        times.append(time.perf_counter() - start)
    times.sort()
    print(json.dumps({
        "numpy": np.__version__,
        "decode_seconds": decode_s,
        "decode_bytes": args.frames * frame_bytes,
        "decode_frames": args.frames,
        "tfi_median_ms": 1000 * times[len(times) // 2],
    }))


if __name__ == "__main__":
    main()
