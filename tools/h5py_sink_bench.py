#!/usr/bin/env python3
"""Peer for `spkdeblur bench sink`: h5py writing the same frames the same way, and a
content comparison of two recordings.

  h5py_sink_bench.py write --raw FRAMES.u8 --distinct K --frames N --height H --width W \
      --compression none|deflate|bitshuffle-lz4 --out FILE.h5
      Writes N frames (frame i is frame i % K of the raw uint8 file, K x H x W x 3) into /sharp
      [N, H, W, 3] uint8, one chunk per frame, plus /frame_id, in SWMR mode with a flush per
      frame; prints JSON {"seconds": ..., "file_bytes": ...}. Single-threaded, as h5py is.
  h5py_sink_bench.py compare A.h5 B.h5
      Prints "identical" when /sharp holds the same values in both files, else the first
      differing frame, and exits 1.
"""
import argparse
import json
import os
import sys
import time

import h5py
import numpy as np


def filters(name):
    if name == "none":
        return {}
    if name == "deflate":
        return {"compression": "gzip", "compression_opts": 1}
    if name == "bitshuffle-lz4":
        import hdf5plugin

        return dict(hdf5plugin.Bitshuffle(cname="lz4"))
    raise SystemExit(f"h5py_sink_bench: unknown compression {name!r}")


def write(args):
    h, w = args.height, args.width
    frames = np.fromfile(args.raw, dtype=np.uint8).reshape(args.distinct, h, w, 3)
    kw = filters(args.compression)
    start = time.perf_counter()
    with h5py.File(args.out, "w", libver="latest") as f:
        sharp = f.create_dataset(
            "sharp", shape=(0, h, w, 3), maxshape=(None, h, w, 3), chunks=(1, h, w, 3), dtype=np.uint8, **kw
        )
        ids = f.create_dataset("frame_id", shape=(0,), maxshape=(None,), chunks=(1024,), dtype=np.int64)
        f.swmr_mode = True
        for i in range(args.frames):
            sharp.resize(i + 1, axis=0)
            sharp[i] = frames[i % args.distinct]
            ids.resize(i + 1, axis=0)
            ids[i] = i
            f.flush()
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "file_bytes": os.path.getsize(args.out)}))


def compare(args):
    try:
        import hdf5plugin  # noqa: F401  (bitshuffle reader)
    except ImportError:
        pass
    with h5py.File(args.a, "r") as a, h5py.File(args.b, "r") as b:
        sa, sb = a["sharp"], b["sharp"]
        if sa.shape != sb.shape or sa.dtype != sb.dtype:
            print(f"different shapes/dtypes: {sa.shape} {sa.dtype} vs {sb.shape} {sb.dtype}")
            return 1
        for i in range(sa.shape[0]):
            if not np.array_equal(sa[i], sb[i]):
                print(f"different at frame {i}")
                return 1
    print("identical")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("write")
    p.add_argument("--raw", required=True)
    p.add_argument("--distinct", type=int, required=True)
    p.add_argument("--frames", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--compression", required=True)
    p.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    args = parser.parse_args()
    if args.command == "write":
        write(args)
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
