#!/usr/bin/env python3
"""Inference performance peers for ``spkdeblur bench model``.

Runs SpkDeblurNet (default config unless --config, random weights from a fixed seed, batch 1)
in every runtime that is installed:

* PyTorch eager fp32 (the project's own implementation in tools/train/spkdeblurnet.py),
* ONNX Runtime fp32 (graph exported from it with torch.onnx.export, all graph optimisations),
* OpenVINO fp32 and bf16 inference precision (same ONNX graph),

and prints one row per runtime: seconds per frame (median of --runs after one warm-up),
GFLOP/s (2 x the multiply-adds of every conv, linear and attention matmul, counted from the
config; the published forward pass includes S anchor layers whose result it discards, and
those are counted because they are computed) and the max abs error against PyTorch fp32.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "train"))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="SpkDeblurNet inference peers (PyTorch, ONNX Runtime, OpenVINO)")
    p.add_argument("--height", type=int, default=500, help="RGB height (spikes are half)")
    p.add_argument("--width", type=int, default=800, help="RGB width (spikes are half)")
    p.add_argument("--frames", type=int, default=56, help="spike frames T (= S_in_chs)")
    p.add_argument("--config", help="JSON constructor keywords (a {'config': {...}} wrapper is accepted)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runtimes", default="pytorch,onnxruntime,openvino-fp32,openvino-bf16",
                   help="comma-separated subset of pytorch,onnxruntime,openvino-fp32,openvino-bf16")
    p.add_argument("--onnx", help="keep the exported ONNX graph at this path")
    p.add_argument("--json", dest="json_out", help="also write the rows as JSON here")
    a = p.parse_args(argv)
    if a.height % 2 or a.width % 2 or a.height < 64 or a.width < 64:
        p.error("--height/--width must be even and >= 64")
    if a.runs < 1 or a.threads < 1 or a.frames < 1:
        p.error("--runs, --threads and --frames must be >= 1")
    return a


def time_runs(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def max_err(outs, ref):
    return max(float(np.max(np.abs(np.asarray(o, dtype=np.float32) - r))) for o, r in zip(outs, ref))


def main(argv=None):
    args = parse_args(argv)
    import torch
    from spkdata import middle_tfi
    from spkdeblurnet import SpkDeblurNet, count_macs, export_onnx

    torch.set_num_threads(args.threads)
    config = {}
    if args.config:
        with open(args.config) as f:
            j = json.load(f)
        config = j["config"] if isinstance(j.get("config"), dict) else j
    config["S_in_chs"] = args.frames
    torch.manual_seed(args.seed)
    model = SpkDeblurNet(**config).eval()
    gflop = 2 * count_macs(model.config, args.height, args.width)["total"] / 1e9

    rng = np.random.default_rng(args.seed)
    hs, ws = args.height // 2, args.width // 2
    blur = rng.random((1, 3, args.height, args.width), dtype=np.float32)
    spike = (rng.random((1, args.frames, hs, ws)) < 0.15).astype(np.float32)
    tfi = (middle_tfi(spike[0].astype(np.uint8), args.frames // 2, 50) / 0.5)[None, None].astype(np.float32)
    inputs = {"blur": blur, "spike": spike, "tfi": tfi}
    tin = tuple(torch.from_numpy(v) for v in inputs.values())

    wanted = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    rows = []
    print(f"SpkDeblurNet {args.height}x{args.width}, T={args.frames}, batch 1, threads {args.threads}, "
          f"median of {args.runs} (+1 warm-up), {gflop:.1f} GFLOP/frame; {platform.processor() or platform.machine()}",
          flush=True)

    with torch.no_grad():
        med, times, ref = time_runs(lambda: model(*tin), args.runs)
    ref = [o.numpy() for o in ref]
    rows.append(dict(runtime="pytorch-eager", precision="fp32", s_per_frame=med, runs=times,
                     gflops=gflop / med, max_abs_err=0.0, version=torch.__version__))
    print_row(rows[-1])

    need_onnx = any(r != "pytorch" for r in wanted)
    tmpdir = tempfile.mkdtemp(prefix="spkdeblur-onnx-")
    onnx_path = args.onnx or os.path.join(tmpdir, "spkdeblurnet.onnx")
    if need_onnx:
        t0 = time.perf_counter()
        export_onnx(model, tin, onnx_path)
        print(f"# exported ONNX graph in {time.perf_counter() - t0:.1f} s", flush=True)

    if "onnxruntime" in wanted:
        try:
            import onnxruntime as ort
        except ImportError:
            print("# onnxruntime not installed: skipped")
        else:
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            so.intra_op_num_threads = args.threads
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
            med, times, outs = time_runs(lambda: sess.run(None, inputs), args.runs)
            rows.append(dict(runtime="onnxruntime", precision="fp32", s_per_frame=med, runs=times,
                             gflops=gflop / med, max_abs_err=max_err(outs, ref), version=ort.__version__))
            print_row(rows[-1])

    for prec in ("fp32", "bf16"):
        if f"openvino-{prec}" not in wanted:
            continue
        try:
            import openvino as ov
        except ImportError:
            print("# openvino not installed: skipped")
            break
        core = ov.Core()
        compiled = core.compile_model(core.read_model(onnx_path), "CPU", {
            "INFERENCE_NUM_THREADS": args.threads,
            "INFERENCE_PRECISION_HINT": "f32" if prec == "fp32" else "bf16",
            "PERFORMANCE_HINT": "LATENCY",
        })
        hint = compiled.get_property("INFERENCE_PRECISION_HINT")
        actual = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)
        req = compiled.create_infer_request()

        def run_ov():
            res = req.infer(inputs)
            return [res[o] for o in compiled.outputs]

        med, times, outs = time_runs(run_ov, args.runs)
        rows.append(dict(runtime="openvino", precision=prec, actual_precision=actual, s_per_frame=med,
                         runs=times, gflops=gflop / med, max_abs_err=max_err(outs, ref), version=ov.__version__))
        print_row(rows[-1])

    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(dict(height=args.height, width=args.width, frames=args.frames, threads=args.threads,
                           runs=args.runs, gflop_per_frame=gflop, config=model.config, rows=rows), f, indent=1)
    return rows


def print_row(r):
    extra = f" (runs as {r['actual_precision']})" if r.get("actual_precision") else ""
    print(f"{r['runtime']:<14} {r['precision']:<5} {r['s_per_frame']:9.3f} s/frame  "
          f"{r['gflops']:8.1f} GFLOP/s  max|err| {r['max_abs_err']:.2e}{extra}", flush=True)


if __name__ == "__main__":
    main()
