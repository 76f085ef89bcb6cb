#!/usr/bin/env python3
"""Worker-farm scaling: frames/s through remote-deblur with N stand-in workers of fixed
service time (passthrough model + --service-ms), against the ideal N / service time.

  python3 tools/bench_farm.py --bin .build/release/spkdeblur --workers 1,2,4,8 --service-ms 100
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

PIPELINE = """pipeline: bench-farm
clock: {{speed: max}}
stages:
  spikes: {{kind: spike-file, path: {data}/GOPRO_Large_spike_seq/test/SIM0000_07_00/spike, height: {h}, width: {w}, batch: 56}}
  rgb: {{kind: rgb-folder, path: {data}/GOPRO_Large/test/SIM0000_07_00/blur_gamma, exposure_spike_frames: 56}}
  windows: {{kind: exposure-window, frames: 56, inputs: {{spikes: spikes, exposures: rgb}}}}
  sync: {{kind: rgb-sync, inputs: {{windows: windows, rgb: rgb}}}}
  deblur: {{kind: remote-deblur, model: passthrough, endpoint: "{ep}", fallback: wait, credit: 2, window: 256, inputs: {{fused: sync}}}}
  sink: {{kind: hdf5-sink, path: {out}, swmr: false, compression: none, inputs: {{frames: deblur}}}}
"""


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", default=".build/release/spkdeblur")
    p.add_argument("--workers", default="1,2,4,8")
    p.add_argument("--service-ms", type=float, default=100.0)
    p.add_argument("--frames", type=int, default=96)
    p.add_argument("--width", type=int, default=256, help="RGB width (spikes are half)")
    p.add_argument("--height", type=int, default=192)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        scenes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipelines", "assets", "scenes")
        subprocess.run([a.bin, "simulate", "--images", scenes, "--out", os.path.join(d, "data"), "--split", "test",
                        "--sequences", "1", "--frames-per-sequence", str(a.frames), "--width", str(a.width),
                        "--height", str(a.height)], check=True, capture_output=True)
        print(f"{a.frames} frames {a.width}x{a.height}, stand-in workers of {a.service_ms:.0f} ms per frame")
        print("| workers | frames/s | ideal | ratio | coordinator CPU ms/frame |")
        print("| --- | --- | --- | --- | --- |")
        for n in [int(x) for x in a.workers.split(",")]:
            ep = f"tcp://127.0.0.1:{47000 + n}"
            out = os.path.join(d, f"farm{n}.h5")
            yaml = os.path.join(d, f"farm{n}.yaml")
            with open(yaml, "w") as f:
                f.write(PIPELINE.format(data=os.path.join(d, "data"), h=a.height // 2, w=a.width // 2, ep=ep, out=out))
            workers = [subprocess.Popen([a.bin, "worker", "--connect", ep, "--model", "passthrough", "--threads", "1",
                                         "--service-ms", str(a.service_ms)], stderr=subprocess.DEVNULL)
                       for _ in range(n)]
            time.sleep(0.3)
            t0 = time.perf_counter()
            r = subprocess.run(["/usr/bin/time", "-f", "%U %S", a.bin, "run", yaml, "--quiet"],
                               capture_output=True, text=True)
            wall = time.perf_counter() - t0
            for w in workers:
                w.kill()
            user, system = (float(x) for x in r.stderr.strip().splitlines()[-1].split())
            fps = a.frames / wall
            ideal = n * 1000.0 / a.service_ms
            print(f"| {n} | {fps:.1f} | {ideal:.1f} | {fps / ideal:.2f} | {1000 * (user + system) / a.frames:.2f} |")


if __name__ == "__main__":
    main()
