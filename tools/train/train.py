#!/usr/bin/env python3
"""Trains SpkDeblurNet on the Spk-GoPro layout and writes a plain state_dict checkpoint.

Recipe (as published): loss = L1(sharp, gt) + L1(spike_recon, grey gt) + L1(quick_sharp, gt),
Adam (betas 0.9/0.999, no weight decay), cosine annealing from --lr to --lr-min over --steps,
random crops (RGB --crop, spikes --crop/2 at the matching place) with random flips/rotation,
the middle T = S_in_chs spike frames and tfi = middleTFI(spikes, T//2, 50) / 0.5.

Example:
    python3 tools/train/train.py --data DATA --steps 1000 --batch 2 --crop 256 \
        --out ckpt.pth --export-safetensors ckpt.safetensors

Long CPU runs resume across sessions: `--state DIR` keeps DIR/state.pt (weights, optimizer,
schedule, step, elapsed time; rewritten atomically every --save-minutes), DIR/log.csv (one row
per --log-every steps, one per held-out evaluation) and DIR/config.json; `--resume` continues
from it, and `--hours H` stops cleanly (state saved, weights exported) after H hours.
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
    p.add_argument("--init", help="start from these weights: a .pth state_dict, or another run's state.pt "
                                  "(its weights only: a new optimizer and schedule)")
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
    p.add_argument("--eval-data", help="root of the held-out test split (default: --data)")
    p.add_argument("--eval-count", type=int, default=4, help="held-out test images to evaluate (0: none)")
    p.add_argument("--eval-crop", type=int, default=0, help="centre crop for evaluation (0: full frame)")
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--save-every", type=int, default=10000)
    p.add_argument("--state", metavar="DIR", help="resumable state folder (state.pt, log.csv, config.json)")
    p.add_argument("--resume", action="store_true", help="continue from --state DIR/state.pt when it exists")
    p.add_argument("--hours", type=float, default=0, help="stop cleanly after this many hours (0: no limit)")
    p.add_argument("--save-minutes", type=float, default=10, help="rewrite the resumable state this often")
    p.add_argument("--eval-every", type=int, default=0, help="held-out evaluation every N steps (0: at the end)")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for the forward pass (CPUs with AVX-512 BF16)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the training forward pass (a few minutes to compile, then ~30%% faster on CPU)")
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
    """Item k is a random sample, crop and flip drawn from (seed, k) alone, so a resumed run
    continues the same stream of batches from its sample counter."""
    import torch

    class TrainSet(torch.utils.data.Dataset):
        def __len__(self):
            return 2**62

        def __getitem__(self, k):
            rng = np.random.default_rng([seed, k])
            blur, sharp, spike = load_sample(samples[int(rng.integers(0, len(samples)))], frames)
            blur, sharp, spike = random_crop_augment(rng, blur, sharp, spike, crop)
            return tuple(torch.from_numpy(a) for a in make_inputs(blur, sharp, spike))

    return TrainSet()


class CounterSampler:
    """Yields start, start + 1, ... (the dataset's sample counter)."""

    def __init__(self, start):
        self.start = start

    def __iter__(self):
        k = self.start
        while True:
            yield k
            k += 1


def save_state(path, payload):
    """torch.save to a temporary name in the same folder, then rename over `path`."""
    import torch

    tmp = path + ".tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)


class CsvLog:
    COLUMNS = ["kind", "step", "hours", "loss", "lr", "psnr_blurry", "psnr_quick", "psnr_sharp", "samples"]

    def __init__(self, path):
        self.path = path
        if path and not os.path.exists(path):
            with open(path, "w") as f:
                f.write(",".join(self.COLUMNS) + "\n")

    def row(self, **values):
        if not self.path:
            return
        with open(self.path, "a") as f:
            f.write(",".join(_fmt(values.get(c, "")) for c in self.COLUMNS) + "\n")


def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def save_checkpoint(model, path, config):
    import torch

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(model.state_dict(), path)
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump({"config": config}, f, indent=1)


def export_safetensors(model, path, config=None):
    """The weights as safetensors, with the model config in the metadata (the Swift loader
    reads it: the anchor counts cannot be inferred from the shapes)."""
    state = {k: v.detach().cpu().contiguous().numpy() for k, v in model.state_dict().items()}
    meta = {"spkdeblurnet_config": json.dumps(config, sort_keys=True)} if config else None
    write_safetensors(path, state, meta)


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
    if not (0 <= args.hours < 1e4) or not (0 < args.save_minutes < 1e4):
        raise SystemExit("error: --hours must be in [0, 1e4) and --save-minutes in (0, 1e4)")
    if args.resume and not args.state:
        raise SystemExit("error: --resume needs --state DIR")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    config = load_config(args.config)
    state_path = os.path.join(args.state, "state.pt") if args.state else None
    resumed = None
    if state_path and os.path.exists(state_path):
        if not args.resume:
            raise SystemExit(f"error: {state_path}: a run is already there (add --resume to continue it)")
        try:
            resumed = torch.load(state_path, map_location="cpu", weights_only=True)
        except Exception as e:  # a torn or foreign file: say so, do not start over silently
            raise SystemExit(f"error: {state_path}: cannot read the resumable state ({e})")
        config = dict(resumed["config"])
    try:
        model = SpkDeblurNet(**config)
    except (TypeError, ValueError) as e:
        raise SystemExit(f"error: {args.config or 'default config'}: {e}")
    frames = model.config["S_in_chs"]
    if args.init and resumed is None:
        try:
            state = torch.load(args.init, map_location="cpu", weights_only=True)
        except Exception as e:
            raise SystemExit(f"error: {args.init}: cannot read the initial weights ({e})")
        if isinstance(state, dict) and isinstance(state.get("model"), dict) and "optimizer" in state:
            state = state["model"]  # a resumable state.pt: its weights
        try:
            model.load_state_dict(strip_module_prefix(state), strict=True)
        except (RuntimeError, AttributeError) as e:
            raise SystemExit(f"error: {args.init}: the weights do not fit the config ({str(e).splitlines()[0]})")
    device = torch.device(args.device)
    model.to(device).train()
    # The discarded S anchor layers get no gradient and change no output: skip them.
    model.skip_dead_anchor_layers = True

    try:
        train_samples = list_samples(args.data, "train")
        test_samples = list_samples(args.eval_data or args.data, "test")[:args.eval_count] if args.eval_count > 0 else []
    except DataError as e:
        raise SystemExit(f"error: {e}")

    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr, betas=(0.9, 0.999))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps, eta_min=args.lr_min)
    step, elapsed_before = 0, 0.0
    if resumed is not None:
        model.load_state_dict(resumed["model"], strict=True)
        opt.load_state_dict(resumed["optimizer"])
        sched.load_state_dict(resumed["scheduler"])
        step, elapsed_before = int(resumed["step"]), float(resumed["elapsed_s"])
        if int(resumed["steps"]) != args.steps:
            raise SystemExit(f"error: {state_path}: the run was planned for {resumed['steps']} steps, "
                             f"not --steps {args.steps}")
    if args.state:
        os.makedirs(args.state, exist_ok=True)
        with open(os.path.join(args.state, "config.json"), "w") as f:
            json.dump({"config": model.config}, f, indent=1)
    log = CsvLog(os.path.join(args.state, "log.csv") if args.state else None)

    ds = build_dataset(train_samples, frames, args.crop, args.seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch, sampler=CounterSampler(step * args.batch),
                                         num_workers=args.workers, persistent_workers=False,
                                         prefetch_factor=4 if args.workers > 0 else None)
    l1 = torch.nn.L1Loss()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"train: {len(train_samples)} samples, test: {len(test_samples)}, params {n_params}, "
          f"T={frames}, device {device}, step {step}/{args.steps}"
          f"{' (resumed)' if resumed is not None else ''}", flush=True)

    def snapshot():
        if state_path:
            save_state(state_path, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                    "scheduler": sched.state_dict(), "step": step, "steps": args.steps,
                                    "elapsed_s": elapsed_before + time.time() - t0, "config": model.config})

    def held_out():
        rows = evaluate(model, test_samples, frames, device, args.eval_crop)
        log.row(kind="eval", step=step, hours=(elapsed_before + time.time() - t0) / 3600,
                psnr_blurry=float(rows[:, 0].mean()), psnr_quick=float(rows[:, 1].mean()),
                psnr_sharp=float(rows[:, 2].mean()), samples=len(rows))
        print(f"held-out ({len(rows)} images) PSNR dB: blurry {rows[:, 0].mean():.2f}  "
              f"quick_sharp {rows[:, 1].mean():.2f}  sharp {rows[:, 2].mean():.2f}  "
              f"(gain over blurry {rows[:, 2].mean() - rows[:, 0].mean():+.2f})", flush=True)

    # SIGINT / SIGTERM: finish the step, save the state and stop as at the time budget.
    import signal
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda n, _f: stop.append(n))

    t0 = time.time()
    last_save, last, window, run_steps = t0, None, [], 0
    deadline = t0 + args.hours * 3600 if args.hours else None
    batches = iter(loader)
    # The compiled module shares the parameters; evaluation and checkpoints use `model`.
    forward = torch.compile(model) if args.compile else model
    while step < args.steps:
        blur, gt, gray, spike, tfi = (x.to(device, non_blocking=True) for x in next(batches))
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=args.bf16):
            sharp, recon, quick = forward(blur, spike, tfi)
        loss = l1(sharp.float(), gt) + l1(recon.float(), gray) + l1(quick.float(), gt)
        if not torch.isfinite(loss):
            snapshot()
            raise SystemExit(f"error: step {step + 1}: loss is {loss.item()} (diverged; state of step {step} kept)")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        run_steps += 1
        last = loss.item()
        window.append(last)
        if step % args.log_every == 0 or step == args.steps:
            hours = (elapsed_before + time.time() - t0) / 3600
            log.row(kind="train", step=step, hours=hours, loss=float(np.mean(window)), lr=sched.get_last_lr()[0])
            window = []
            print(f"step {step}/{args.steps} loss {last:.5f} lr {sched.get_last_lr()[0]:.3g} "
                  f"{(time.time() - t0) / run_steps:.3f} s/step", flush=True)
        if args.save_every and step % args.save_every == 0 and step < args.steps:
            save_checkpoint(model, args.out, model.config)
        if test_samples and args.eval_every and step % args.eval_every == 0 and step < args.steps:
            held_out()
        if time.time() - last_save >= args.save_minutes * 60:
            snapshot()
            last_save = time.time()
        if deadline and time.time() >= deadline:
            print(f"time budget of {args.hours} h reached at step {step}", flush=True)
            break
        if stop:
            print(f"signal {stop[0]}: stopping at step {step}", flush=True)
            break

    snapshot()
    save_checkpoint(model, args.out, model.config)
    print(f"saved {args.out} (step {step}, last loss {last if last is not None else float('nan'):.5f})")
    if args.export_safetensors:
        export_safetensors(model, args.export_safetensors, model.config)
        print(f"saved {args.export_safetensors}")
    if test_samples:
        held_out()
    return last


if __name__ == "__main__":
    main()
