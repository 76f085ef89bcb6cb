#!/usr/bin/env python3
"""Trains SpkDeblurNet on the Spk-GoPro layout and writes a plain state_dict checkpoint.

Recipe (as published): loss = L1(sharp, gt) + L1(spike_recon, grey gt) + L1(quick_sharp, gt),
Adam (betas 0.9/0.999, no weight decay), cosine annealing from --lr to --lr-min over --steps,
random crops (RGB --crop, spikes --crop/2 at the matching place) with random flips/rotation,
the middle T = S_in_chs spike frames and tfi = middleTFI(spikes, T//2, 50) / 0.5.

Example:
    python3 tools/train/train.py --data DATA --steps 1000 --batch 2 --crop 256 \
        --out ckpt.pth --export-safetensors ckpt.safetensors
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from safetensors_io import write_safetensors  # noqa: E402
from spkdata import (DataError, list_samples, load_sample, make_inputs,  # noqa: E402
                     random_crop_augment)

DEFAULT_CONFIG = {"S_in_chs": 56}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="root holding GOPRO_Large/ and GOPRO_Large_spike_seq/")
    p.add_argument("--config", help="JSON file with constructor keywords (a {'config': {...}} wrapper is accepted)")
    p.add_argument("--init", help="start from this checkpoint (.pth state_dict)")
    p.add_argument("--steps", type=int, default=100000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256, help="RGB crop size (spike crop is half)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--lr-min", type=float, default=1e-6)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--seed", type=int, default=1314)
    p.add_argument("--workers", type=int, default=0, help="data loader worker processes")
    p.add_argument("--out", required=True, help="checkpoint path (torch.save of the state_dict)")
    p.add_argument("--export-safetensors", metavar="OUT", help="also write the weights as safetensors")
    p.add_argument("--eval-count", type=int, default=4, help="held-out test images to evaluate (0: none)")
    p.add_argument("--eval-crop", type=int, default=0, help="centre crop for evaluation (0: full frame)")
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--save-every", type=int, default=10000)
    return p.parse_args(argv)


def load_config(path):
    cfg = dict(DEFAULT_CONFIG)
    if path:
        try:
            with open(path) as f:
                j = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise SystemExit(f"error: {path}: cannot read config JSON ({e})")
        if isinstance(j, dict) and isinstance(j.get("config"), dict):
            j = j["config"]
        if not isinstance(j, dict):
            raise SystemExit(f"error: {path}: config must be a JSON object of constructor keywords")
        cfg.update(j)
    return cfg


def psnr(a, b):
    import torch

    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)


def build_dataset(samples, frames, crop, seed):
    import torch

    class TrainSet(torch.utils.data.Dataset):
        def __len__(self):
            return len(samples)

        def __getitem__(self, i):
            rng = np.random.default_rng([seed, i, int(torch.randint(0, 2**31 - 1, ()).item())])
            blur, sharp, spike = load_sample(samples[i], frames)
            blur, sharp, spike = random_crop_augment(rng, blur, sharp, spike, crop)
            return tuple(torch.from_numpy(a) for a in make_inputs(blur, sharp, spike))

    return TrainSet()


def save_checkpoint(model, path, config):
    import torch

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(model.state_dict(), path)
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump({"config": config}, f, indent=1)


def export_safetensors(model, path):
    state = {k: v.detach().cpu().contiguous().numpy() for k, v in model.state_dict().items()}
    write_safetensors(path, state)


def evaluate(model, samples, frames, device, eval_crop):
    import torch

    model.eval()
    rows = []
    with torch.no_grad():
        for s in samples:
            blur, sharp, spike = load_sample(s, frames)
            if eval_crop:
                h, w = spike.shape[1:]
                c = eval_crop // 2
                top, left = max((h - c) // 2, 0), max((w - c) // 2, 0)
                blur = blur[2 * top:2 * (top + c), 2 * left:2 * (left + c)]
                sharp = sharp[2 * top:2 * (top + c), 2 * left:2 * (left + c)]
                spike = spike[:, top:top + c, left:left + c]
            b, gt, _, sp, tfi = (torch.from_numpy(a)[None].to(device) for a in make_inputs(blur, sharp, spike))
            out, _, quick = model(b, sp, tfi)
            rows.append((psnr(b, gt), psnr(quick, gt), psnr(out, gt)))
    model.train()
    return np.array(rows)


def main(argv=None):
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        raise SystemExit("error: PyTorch is required for training (pip install torch)")
    from spkdeblurnet import SpkDeblurNet, strip_module_prefix

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda: no CUDA device available")
    if args.steps < 1 or args.batch < 1:
        raise SystemExit("error: --steps and --batch must be >= 1")
    torch.manual_seed(args.seed)
    config = load_config(args.config)
    try:
        model = SpkDeblurNet(**config)
    except (TypeError, ValueError) as e:
        raise SystemExit(f"error: {args.config or 'default config'}: {e}")
    frames = model.config["S_in_chs"]
    if args.init:
        state = torch.load(args.init, map_location="cpu", weights_only=True)
        model.load_state_dict(strip_module_prefix(state), strict=True)
    device = torch.device(args.device)
    model.to(device).train()

    try:
        train_samples = list_samples(args.data, "train")
        test_samples = list_samples(args.data, "test")[:args.eval_count] if args.eval_count > 0 else []
    except DataError as e:
        raise SystemExit(f"error: {e}")

    ds = build_dataset(train_samples, frames, args.crop, args.seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch, shuffle=True, drop_last=False,
                                         num_workers=args.workers, persistent_workers=args.workers > 0)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr, betas=(0.9, 0.999))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps, eta_min=args.lr_min)
    l1 = torch.nn.L1Loss()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"train: {len(train_samples)} images, test: {len(test_samples)}, params {n_params}, "
          f"T={frames}, device {device}", flush=True)

    step, t0, last = 0, time.time(), None
    while step < args.steps:
        for batch in loader:
            blur, gt, gray, spike, tfi = (x.to(device, non_blocking=True) for x in batch)
            sharp, recon, quick = model(blur, spike, tfi)
            loss = l1(sharp, gt) + l1(recon, gray) + l1(quick, gt)
            if not torch.isfinite(loss):
                raise SystemExit(f"error: step {step + 1}: loss is {loss.item()} (diverged)")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            last = loss.item()
            if step % args.log_every == 0 or step == args.steps:
                print(f"step {step}/{args.steps} loss {last:.5f} lr {sched.get_last_lr()[0]:.3g} "
                      f"{(time.time() - t0) / step:.3f} s/step", flush=True)
            if args.save_every and step % args.save_every == 0 and step < args.steps:
                save_checkpoint(model, args.out, model.config)
            if step >= args.steps:
                break

    save_checkpoint(model, args.out, model.config)
    print(f"saved {args.out} (final loss {last:.5f})")
    if args.export_safetensors:
        export_safetensors(model, args.export_safetensors)
        print(f"saved {args.export_safetensors}")
    if test_samples:
        rows = evaluate(model, test_samples, frames, device, args.eval_crop)
        print(f"held-out ({len(rows)} images) PSNR dB: blurry {rows[:, 0].mean():.2f}  "
              f"quick_sharp {rows[:, 1].mean():.2f}  sharp {rows[:, 2].mean():.2f}  "
              f"(gain over blurry {rows[:, 2].mean() - rows[:, 0].mean():+.2f})")
    return last


if __name__ == "__main__":
    main()
