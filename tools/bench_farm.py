#!/usr/bin/env python3
"""Worker-farm scaling: frames/s through remote-deblur with N workers, against the ideal
N x one worker's rate, and the coordinator's own CPU time per frame.

Stand-in workers (passthrough model + --service-ms S) have a fixed service time, so the ideal
is N / S; with --service-ms 0 they return at once and the run measures what the coordinator
and the rest of the pipeline sustain. --model spkdeblurnet runs real workers (one thread
each); their ideal is N x the measured rate with one worker.

  python3 tools/bench_farm.py --bin .build/release/spkdeblur --workers 1,2,4,8,16,32 --service-ms 0,100
  python3 tools/bench_farm.py --size 800x500 --frames 48 --workers 1,2,4,8,16,32 --service-ms 0,100
  python3 tools/bench_farm.py --bin A --bin B --repeat 3 ...   # interleaved, medians

"coordinator CPU ms/frame" is the coordinator's own thread CPU time (the socket thread's
receiving, decoding, dispatching and sending, and the stage's encoding of jobs and
converting of results: the stage's `coordinator-cpu-us` / `coordinator-frames` counters);
"pipeline CPU ms/frame" is the whole pipeline process (user + system), coordinator
included; workers are other processes and in neither. "libzmq I/O thread" is the pipeline's
libzmq background threads (the kernel's TCP copies of the coordinator's messages), sampled
from /proc: part of the pipeline process, not of the coordinator figure. frames/s is over the run's own wall
time (the metrics' `wallSeconds`: from the stages' start to the last frame written, so
without the process's start-up).
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

PIPELINE = """pipeline: bench-farm
clock: {{speed: max}}
stages:
  spikes: {{kind: spike-file, path: {data}/GOPRO_Large_spike_seq/test/SIM0000_07_00/spike, height: {h}, width: {w}, batch: 56}}
  rgb: {{kind: rgb-folder, path: {data}/GOPRO_Large/test/SIM0000_07_00/blur_gamma, exposure_spike_frames: 56}}
  windows: {{kind: exposure-window, frames: 56, inputs: {{spikes: spikes, exposures: rgb}}}}
  sync: {{kind: rgb-sync, inputs: {{windows: windows, rgb: rgb}}}}
  deblur: {{kind: remote-deblur, model: {model}, endpoint: "{ep}", fallback: wait, credit: {credit}, window: {window}, inputs: {{fused: sync}}}}
  sink: {{kind: hdf5-sink, path: {out}, swmr: false, compression: none, inputs: {{frames: deblur}}}}
"""


def make_recording(binary, root, frames, width, height):
    scenes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipelines", "assets", "scenes")
    subprocess.run([binary, "simulate", "--images", scenes, "--out", root, "--split", "test", "--sequences", "1",
                    "--frames-per-sequence", str(frames), "--width", str(width), "--height", str(height)],
                   check=True, capture_output=True)


def zmq_io_seconds(proc):
    """CPU seconds of the pipeline's libzmq I/O threads (`ZMQbg/IO/*`: the coordinator's TCP
    sends and receives), sampled from /proc every 20 ms while the run lasts (the last
    sample before exit; 10 ms ticks)."""
    last = {}
    while proc.poll() is None:
        try:
            children = open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()
        except OSError:
            children = []
        for pid in children:
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/stat") as f:
                        stat = f.read()
                    name = stat[stat.index("(") + 1:stat.rindex(")")]
                    if name.startswith("ZMQbg/IO"):
                        fields = stat[stat.rindex(")") + 2:].split()
                        last[tid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, ValueError):
                pass
        time.sleep(0.02)
    return sum(last.values())


def one_run(a, binary, d, data, n, service_ms, port):
    """One pipeline run with n workers; returns (frames/s, coordinator ms/frame, pipeline ms/frame)."""
    ep = f"tcp://127.0.0.1:{port}"
    out = os.path.join(d, "farm.h5")
    yaml = os.path.join(d, "farm.yaml")
    metrics = os.path.join(d, "m.json")
    with open(yaml, "w") as f:
        f.write(PIPELINE.format(data=data, h=a.height // 2, w=a.width // 2, ep=ep, out=out, model=a.model,
                                credit=a.credit, window=a.window or max(32, 2 * n * a.credit)))
    command = [binary, "worker", "--connect", ep, "--model", a.model, "--threads", "1"]
    if a.model == "passthrough":
        command += ["--service-ms", str(service_ms)]
    workers = [subprocess.Popen(command, stderr=subprocess.DEVNULL) for _ in range(n)]
    try:
        time.sleep(0.3 + 0.02 * n)
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%U %S", binary, "run", yaml, "--quiet", "--metrics-json",
                                 metrics], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        io = zmq_io_seconds(proc)
        out_text, err_text = proc.communicate()
        r = subprocess.CompletedProcess(proc.args, proc.returncode, out_text, err_text)
    finally:
        for w in workers:
            w.kill()
        for w in workers:
            w.wait()
    if r.returncode != 0:
        raise SystemExit(f"pipeline failed ({r.returncode}): {r.stderr[-2000:]}")
    user, system = (float(x) for x in r.stderr.strip().splitlines()[-1].split())
    with open(metrics) as f:
        m = json.load(f)
    c = {s["name"]: s for s in m["stages"]}["deblur"]["counters"]
    frames = c.get("coordinator-frames", 0)
    if frames != a.frames:
        raise SystemExit(f"the run wrote {frames} frames, expected {a.frames}")
    coordinator = c["coordinator-cpu-us"] / 1000 / frames
    socket = c["coordinator-socket-cpu-us"] / 1000 / frames
    os.remove(out)
    return a.frames / m["wallSeconds"], coordinator, socket, 1000 * io / frames, 1000 * (user + system) / a.frames


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", action="append", help="spkdeblur binary; several are run interleaved")
    p.add_argument("--workers", default="1,2,4,8")
    p.add_argument("--service-ms", default="100", help="stand-in service times, comma separated (0: passthrough)")
    p.add_argument("--model", default="passthrough", choices=["passthrough", "spkdeblurnet", "classical"],
                   help="what the workers run (real models ignore --service-ms)")
    p.add_argument("--credit", type=int, default=2)
    p.add_argument("--window", type=int, help="the stage's reorder window (default: 2 x workers x credit, at least 32)")
    p.add_argument("--frames", type=int, default=96)
    p.add_argument("--size", help="RGB size WIDTHxHEIGHT (spikes are half), e.g. 800x500; sets --width/--height")
    p.add_argument("--width", type=int, default=256, help="RGB width (spikes are half)")
    p.add_argument("--height", type=int, default=192)
    p.add_argument("--repeat", type=int, default=1, help="runs per cell; the table shows medians")
    p.add_argument("--data", help="recording folder to reuse (made there if missing)")
    a = p.parse_args()
    if a.size:
        a.width, a.height = (int(x) for x in a.size.lower().split("x"))
    bins = a.bin or [".build/release/spkdeblur"]
    services = [float(x) for x in a.service_ms.split(",")] if a.model == "passthrough" else [0.0]
    counts = [int(x) for x in a.workers.split(",")]
    with tempfile.TemporaryDirectory() as d:
        data = a.data or os.path.join(d, "data")
        if not os.path.isdir(os.path.join(data, "GOPRO_Large")):
            make_recording(bins[0], data, a.frames, a.width, a.height)
        load = os.getloadavg()
        print(f"{a.frames} frames {a.width}x{a.height}, workers: {a.model}, credit {a.credit}, "
              f"medians of {a.repeat}; load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        results = {}
        # Below Linux's ephemeral range (32768-60999), where a worker's own outgoing
        # connection could be holding the port.
        port = 7000
        for service in services:
            for n in counts:
                for rep in range(a.repeat):
                    for b in bins:
                        port += 1
                        results.setdefault((service, n, b), []).append(one_run(a, b, d, data, n, service, port))
        print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for b in bins:
            print(f"\n{b}")
            for service in services:
                what = f"{service:.0f} ms" if a.model == "passthrough" else a.model
                print(f"\nworkers of {what} per frame")
                print("| workers | frames/s | ideal | ratio | coordinator CPU ms/frame | of it socket thread "
                      "| libzmq I/O thread ms/frame | pipeline CPU ms/frame |")
                print("| --- | --- | --- | --- | --- | --- | --- | --- |")
                one = None
                for n in counts:
                    runs = results[(service, n, b)]
                    fps, coord, sock, io, pipe = (statistics.median(r[i] for r in runs) for i in range(5))
                    if a.model != "passthrough":
                        one = one or (fps if n == 1 else None)
                        ideal = n * one if one else None
                    else:
                        ideal = n * 1000.0 / service if service > 0 else None
                    cells = [f"{ideal:.1f}", f"{fps / ideal:.2f}"] if ideal else ["-", "-"]
                    print(f"| {n} | {fps:.1f} | {' | '.join(cells)} | {coord:.2f} | {sock:.2f} | {io:.2f} | {pipe:.2f} |")


if __name__ == "__main__":
    main()
