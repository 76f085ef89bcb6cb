#!/usr/bin/env python3
"""Times `spkdeblur validate` on a generated description of N stages (default 60,000:
10,000 copies of the demo's six-stage chain, every stage valid), median of several runs.

    tools/bench_validate.py [--stages 60000] [--runs 5] [--bin .build/release/spkdeblur]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def description(chains: int, folder: str) -> str:
    lines = ["pipeline: many", "clock: {speed: max}", "stages:"]
    for i in range(chains):
        lines += [
            f"  sp{i}: {{kind: spike-file, path: spikes{i}.dat, height: 96, width: 128, rate_hz: 20000}}",
            f"  rgb{i}: {{kind: rgb-folder, path: rgb{i}, exposure_spike_frames: 56}}",
            f"  win{i}: {{kind: exposure-window, frames: 56, inputs: {{spikes: sp{i}, exposures: rgb{i}}}}}",
            f"  sync{i}: {{kind: rgb-sync, inputs: {{windows: win{i}, rgb: rgb{i}}}}}",
            f"  db{i}: {{kind: deblur, model: passthrough, inputs: {{fused: {{from: sync{i}, capacity: 4}}}}}}",
            f"  sink{i}: {{kind: hdf5-sink, path: out{i}.h5, store_blur: true, inputs: {{frames: db{i}}}}}",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stages", type=int, default=60000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release/spkdeblur"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "many.yaml")
        with open(path, "w") as f:
            f.write(description(max(1, args.stages // 6), folder))
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            r = subprocess.run([args.bin, "validate", path], capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if r.returncode != 0:
                print(r.stderr[:500], file=sys.stderr)
                return 1
        print(r.stdout.strip())
        print(f"validate: median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
              f"max {max(times):.3f} s over {args.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
