#!/usr/bin/env python3
"""Live ingest benchmark: a spike stream with RGB frames over PUSH -> PULL into a live
pipeline (windows, sync, passthrough, HDF5), at a multiple of real time.

Prints, per run and as medians: exposures sent and written, the multiple of real time the
publisher held, and every drop or give-up the pipeline counted.

  python3 tools/bench_live.py --bin .build/release/spkdeblur --speed 4 --fps 30
  python3 tools/bench_live.py --bin .build/release/spkdeblur --speed 0 --no-rgb   # spikes only
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

PIPELINE = """pipeline: bench-live
clock: {{speed: max, live: true}}
stages:
  spikes: {{kind: zmq-spikes, endpoint: {spikes}, pattern: pull, attach: bind, idle_timeout_ms: 10000}}
  rgb: {{kind: zmq-rgb, endpoint: {rgb}, pattern: pull, attach: bind, idle_timeout_ms: {rgb_idle}}}
  windows: {{kind: exposure-window, frames: 56, inputs: {{spikes: spikes, exposures: rgb}}}}
  sync: {{kind: rgb-sync, inputs: {{windows: windows, rgb: rgb}}}}
  deblur: {{kind: passthrough, inputs: {{fused: sync}}}}
  sink: {{kind: hdf5-sink, path: {out}, compression: none, swmr: false, inputs: {{frames: deblur}}}}
"""


def one_run(args, port):
    with tempfile.TemporaryDirectory() as d:
        spikes, rgb = f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port + 1}"
        out, metrics = os.path.join(d, "live.h5"), os.path.join(d, "m.json")
        yaml = os.path.join(d, "bench.yaml")
        with open(yaml, "w") as f:
            f.write(PIPELINE.format(spikes=spikes, rgb=rgb, out=out, rgb_idle=10000))
        pipe = subprocess.Popen([args.bin, "run", yaml, "--quiet", "--metrics-json", metrics],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        every = max(56, round(args.rate / args.fps)) if not args.no_rgb else 10**9
        frames = int(args.seconds * args.rate)
        exposures = frames // every if not args.no_rgb else 0
        cmd = [sys.executable, os.path.join(HERE, "zmq_faults.py"), "--spikes", spikes, "--rgb", rgb,
               "--scenario", "clean", "--height", str(args.height), "--width", str(args.width),
               "--batch", str(args.batch), "--speed", str(args.speed)]
        if args.no_rgb:
            # One exposure covering the whole stream, so the pipeline ends cleanly.
            cmd += ["--exposures", "1", "--every", str(frames)]
        else:
            cmd += ["--exposures", str(exposures), "--every", str(every)]
        pub = subprocess.run(cmd, capture_output=True, text=True, check=True)
        summary = json.loads(pub.stdout)
        pipe.wait(timeout=600)
        m = json.load(open(metrics))
        import h5py
        with h5py.File(out, "r") as f:
            written = len(f["frame_id"])
        stages = {s["name"]: s for s in m["stages"]}
        drops = {f"{n}.{k}": v for n, s in stages.items() for k, v in s["counters"].items()
                 if v and (k.startswith("dropped") or k.startswith("lost") or k.startswith("unpaired"))}
        edge_drops = {e["name"]: e["dropped"] for e in m["edges"] if e["dropped"]}
        realtime = summary["spike_frames"] / args.rate / summary["seconds"]
        return {"sent": len(summary["expected_ids"]), "written": written, "realtime": realtime,
                "drops": drops, "edge_drops": edge_drops, "rc": pipe.returncode}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", default=".build/release/spkdeblur")
    p.add_argument("--height", type=int, default=250)
    p.add_argument("--width", type=int, default=400)
    p.add_argument("--rate", type=float, default=20000.0)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--seconds", type=float, default=8.0, help="seconds of stream")
    p.add_argument("--speed", type=float, default=4.0, help="multiple of real time (0: as fast as possible)")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--no-rgb", action="store_true")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    results = []
    for i in range(args.runs):
        r = one_run(args, 45000 + 10 * i)
        results.append(r)
        print(json.dumps(r))
    print(f"median: {statistics.median(r['realtime'] for r in results):.2f}x real time, "
          f"written {statistics.median(r['written'] for r in results)} of {results[0]['sent']} exposures, "
          f"runs with any drop: {sum(1 for r in results if r['drops'] or r['edge_drops'])}")


if __name__ == "__main__":
    main()
