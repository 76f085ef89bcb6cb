#!/usr/bin/env python3
"""Scores a model on the held-out recordings (nominal sensor and the robustness variants
made by make_data.py) with `spkdeblur eval`, and prints the Markdown table for
docs/training.md. Also writes the nominal means as JSON for embed.py --held-out.

    python3 tools/train/robustness.py --bin .build/release/spkdeblur --data out/train-data \
        [--weights W --config C] --means out/heldout-means.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_data import HELD_OUT_VARIANTS  # noqa: E402

LABELS = {
    "heldout": "nominal (threshold 2.0, no spurious spikes)",
    "heldout-thr0.75": "threshold 0.75x (1.5)",
    "heldout-thr1.5": "threshold 1.5x (3.0)",
    "heldout-spurious1": "1% spurious spikes",
}


def evaluate(binary, root, weights, threads, config=None):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [binary, "eval", "--dataset", root, "--layout", "gopro", "--split", "test", "--report", f.name]
        if weights:
            cmd += ["--weights", weights]
        if config:
            cmd += ["--config", config]
        if threads:
            cmd += ["--threads", str(threads)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rows = json.load(open(f.name))["rows"]
    return {k: (v["psnr"], v["ssim"]) for k, v in rows.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--data", required=True, help="make_data.py's output folder")
    p.add_argument("--weights", help="weights (default: the embedded model)")
    p.add_argument("--config", help="the weights' model config JSON (a run's model.json); head counts "
                   "cannot be read from the weights")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--means", help="write the nominal means here (JSON)")
    a = p.parse_args(argv)

    results = {name: evaluate(a.bin, os.path.join(a.data, name), a.weights, a.threads, a.config)
               for name, _ in HELD_OUT_VARIANTS}
    nominal_gain = results["heldout"]["sharp"][0] - results["heldout"]["blurry"][0]
    print("| held-out recordings | blurry PSNR / SSIM | classical | sharp (model) | gain over blurry | "
          "gain over classical | gain vs nominal |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, _ in HELD_OUT_VARIANTS:
        r = results[name]
        gain = r["sharp"][0] - r["blurry"][0]
        print(f"| {LABELS.get(name, name)} | {r['blurry'][0]:.2f} / {r['blurry'][1]:.4f} | "
              f"{r['classical'][0]:.2f} / {r['classical'][1]:.4f} | {r['sharp'][0]:.2f} / {r['sharp'][1]:.4f} | "
              f"{gain:+.2f} dB | {r['sharp'][0] - r['classical'][0]:+.2f} dB | {gain - nominal_gain:+.2f} dB |")
    if a.means:
        with open(a.means, "w") as f:
            json.dump({k: round(v[0], 3) for k, v in results["heldout"].items()
                       if k in ("blurry", "classical", "sharp")}, f)


if __name__ == "__main__":
    main()
