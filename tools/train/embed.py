#!/usr/bin/env python3
"""Embeds a trained model in the package: writes Sources/CModelResources/models/NAME.safetensors,
NAME.json (the manifest `spkdeblur models` prints) and stamp.h (so the C target that assembles
the files into the binary is rebuilt when they change).

    python3 tools/train/embed.py --state tools/train/runs/compact48 --name compact48 \\
        --summary "..." --training "..." [--held-out out/eval.json]

--held-out takes the JSON report of `spkdeblur eval` runs: {"blurry": dB, "classical": dB, "sharp": dB, ...}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(os.path.dirname(HERE))
MODELS = os.path.join(ROOT, "Sources", "CModelResources", "models")
FIXTURES = os.path.join(ROOT, "Tests", "ModelCatalogTests", "Fixtures")


def reference_io(model, frames):
    """A fixed input (a smooth colour pattern, Bernoulli spikes of a brightness ramp) and the
    PyTorch outputs of the model on it: the embedded weights' regression fixture."""
    import numpy as np
    import torch
    from spkdata import middle_tfi

    h, w = 96, 128
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    blur = np.stack([0.5 + 0.4 * np.sin(xx / 7), 0.5 + 0.4 * np.cos(yy / 5), (xx + yy) / (h + w)])[None]
    rng = np.random.default_rng(20261201)
    level = (0.1 + 0.8 * xx[::2, ::2] / w)[None]
    spike = (rng.random((frames, h // 2, w // 2)) < level / 2).astype(np.float32)[None]
    tfi = (middle_tfi(spike[0].astype(np.uint8), frames // 2, 50) / 0.5).astype(np.float32)[None, None]
    model.eval()
    with torch.no_grad():
        sharp, recon, quick = model(torch.from_numpy(blur.astype(np.float32)), torch.from_numpy(spike),
                                    torch.from_numpy(tfi))
    return dict(blur=blur.astype(np.float32), spike=spike, tfi=tfi, sharp=sharp.numpy(),
                spike_recon=recon.numpy(), quick_sharp=quick.numpy())


def main(argv=None):
    import torch
    from safetensors_io import write_safetensors
    from spkdeblurnet import SpkDeblurNet, count_macs

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--state", required=True, help="run folder holding state.pt")
    p.add_argument("--name", required=True)
    p.add_argument("--summary", required=True)
    p.add_argument("--training", required=True, help="one line: data, steps, hours")
    p.add_argument("--held-out", help="JSON with mean held-out PSNR per method")
    a = p.parse_args(argv)

    state = torch.load(os.path.join(a.state, "state.pt"), map_location="cpu", weights_only=True)
    tensors = {k: v.detach().contiguous().numpy() for k, v in state["model"].items()}
    os.makedirs(MODELS, exist_ok=True)
    weights = os.path.join(MODELS, a.name + ".safetensors")
    write_safetensors(weights + ".tmp", tensors)
    os.replace(weights + ".tmp", weights)
    digest = hashlib.sha256(open(weights, "rb").read()).hexdigest()
    config = dict(state["config"])
    params = sum(int(v.numel()) for k, v in state["model"].items() if not k.endswith(("relative_position_index", "attn_mask")))
    macs = count_macs(config, 500, 800, include_dead_anchor=False)["total"]
    held = {}
    if a.held_out:
        with open(a.held_out) as f:
            held = {k: float(v) for k, v in json.load(f).items()}
    manifest = {"name": a.name, "summary": a.summary, "config": config, "params": params,
                "gflop_500x800": round(2 * macs / 1e9, 2),
                "training": f"{a.training}; step {state['step']} of {state['steps']}, "
                            f"{state['elapsed_s'] / 3600:.1f} h so far",
                "held_out": held, "sha256": digest}
    with open(os.path.join(MODELS, a.name + ".json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    # The stamp covers both files, so a manifest-only change also rebuilds the C target.
    manifest_bytes = open(os.path.join(MODELS, a.name + ".json"), "rb").read()
    stamp = hashlib.sha256(digest.encode() + manifest_bytes).hexdigest()
    with open(os.path.join(MODELS, "stamp.h"), "w") as f:
        f.write("// Written by tools/train/embed.py; changes with the embedded files.\n")
        f.write(f'#define SPK_EMBEDDED_STAMP_{a.name.upper()} "{stamp}"\n')
    model = SpkDeblurNet(**config)
    model.load_state_dict(state["model"], strict=True)
    os.makedirs(FIXTURES, exist_ok=True)
    write_safetensors(os.path.join(FIXTURES, a.name + ".io.safetensors"), reference_io(model, config["S_in_chs"]))
    print(f"embedded {a.name}: {params} parameters, {manifest['gflop_500x800']} GFLOP at 500x800, "
          f"{os.path.getsize(weights)} bytes, sha256 {digest[:16]}...")


if __name__ == "__main__":
    main()
