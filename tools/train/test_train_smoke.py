"""Spike decoding/TFI against the project's fixtures, and a few CPU training steps on a tiny
synthetic Spk-GoPro tree."""

import json
import os
import struct
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from safetensors_io import read_safetensors  # noqa: E402
from spkdata import (DataError, decode_dat, list_samples, middle_tfi,  # noqa: E402
                     random_crop_augment)

SPK_FIX = os.path.join(ROOT, "Tests", "SpikeCoreTests", "Fixtures")
NET_FIX = os.path.join(ROOT, "Tests", "SpkDeblurNetTests", "Fixtures")


def test_decode_and_tfi_match_reference_fixture():
    expect = read_safetensors(os.path.join(SPK_FIX, "spikes_a.expect.safetensors"))
    spikes = decode_dat(os.path.join(SPK_FIX, "spikes_a.dat"), 36, 52)
    assert np.array_equal(spikes, expect["spikes"])
    names = [k for k in expect if k.startswith("tfi_m")]
    assert names
    for k in names:
        m, w = k[len("tfi_m"):].split("_w")
        got = middle_tfi(spikes, int(m), int(w))
        assert np.max(np.abs(got - expect[k])) == 0.0, k


def test_decode_middle_frames_and_bad_size(tmp_path):
    full = decode_dat(os.path.join(SPK_FIX, "spikes_a.dat"), 36, 52)
    mid = decode_dat(os.path.join(SPK_FIX, "spikes_a.dat"), 36, 52, frames=8)
    assert np.array_equal(mid, full[16:24])
    bad = tmp_path / "bad.dat"
    bad.write_bytes(b"\x00" * 7)
    with pytest.raises(DataError, match="bad.dat"):
        decode_dat(str(bad), 36, 52)


def test_tfi_index_zero_counts_as_no_spike():
    s = np.zeros((10, 1, 2), dtype=np.uint8)
    s[0, 0, 0] = 1  # only at index 0: treated as none -> left = middle - window
    s[2, 0, 1] = 1
    tfi = middle_tfi(s, 3, 50)
    assert tfi[0, 0] == np.float32(1.0 / ((3 + 50) - (3 - 50)))
    assert tfi[0, 1] == np.float32(1.0 / ((3 + 50) - 2))


def test_crop_keeps_rgb_and_spike_aligned():
    rng = np.random.default_rng(0)
    h, w = 20, 24
    # RGB value at (y, x) encodes the spike pixel (y//2, x//2) it covers
    ys, xs = np.meshgrid(np.arange(2 * h), np.arange(2 * w), indexing="ij")
    code = ((ys // 2) * w + (xs // 2)).astype(np.int64)
    blur = np.stack([code, code, code], -1)
    spike = np.broadcast_to((np.arange(h)[:, None] * w + np.arange(w)[None, :]), (3, h, w)).copy()
    for _ in range(20):
        b, s, sp = random_crop_augment(rng, blur, blur, spike, 16)
        assert b.shape == (16, 16, 3) and sp.shape == (3, 8, 8)
        assert np.array_equal(b[::2, ::2, 0], sp[0])


def _write_png(path, arr):
    from PIL import Image

    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(arr).save(path)


def _make_tree(root, rng, h=160, w=192, frames=24):
    for split, seqs in (("train", ["SEQ_A", "SEQ_B"]), ("test", ["SEQ_C"])):
        for seq in seqs:
            for name in ("000001", "000002"):
                sharp = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                blur = ((sharp.astype(np.uint16) + np.roll(sharp, 3, 1)) // 2).astype(np.uint8)
                _write_png(os.path.join(root, "GOPRO_Large", split, seq, "sharp", name + ".png"), sharp)
                _write_png(os.path.join(root, "GOPRO_Large", split, seq, "blur_gamma", name + ".png"), blur)
                d = os.path.join(root, "GOPRO_Large_spike_seq", split, seq, "spike")
                os.makedirs(d, exist_ok=True)
                rng.integers(0, 256, frames * (h // 2) * (w // 2) // 8, dtype=np.uint8).tofile(
                    os.path.join(d, name + ".dat"))


def test_missing_spike_file_is_named(tmp_path):
    rng = np.random.default_rng(1)
    _make_tree(str(tmp_path), rng, h=32, w=32, frames=8)
    victim = os.path.join(str(tmp_path), "GOPRO_Large_spike_seq", "train", "SEQ_B", "spike", "000002.dat")
    os.remove(victim)
    with pytest.raises(DataError, match="000002.dat"):
        list_samples(str(tmp_path), "train")


def test_train_few_steps_and_reload(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    import train
    from spkdeblurnet import SpkDeblurNet

    torch.set_num_threads(2)
    rng = np.random.default_rng(2)
    data = str(tmp_path / "data")
    _make_tree(data, rng)
    out = str(tmp_path / "ckpt.pth")
    st = str(tmp_path / "ckpt.safetensors")
    loss = train.main(["--data", data, "--config", os.path.join(NET_FIX, "tiny.json"), "--steps", "3",
                       "--batch", "2", "--crop", "128", "--lr", "2e-4", "--out", out,
                       "--export-safetensors", st, "--eval-count", "1", "--log-every", "1"])
    assert loss is not None and np.isfinite(loss)
    log = capsys.readouterr().out
    assert "step 3/3" in log and "held-out (1 images) PSNR" in log

    with open(os.path.join(NET_FIX, "tiny.json")) as f:
        cfg = json.load(f)["config"]
    with open(str(tmp_path / "ckpt.json")) as f:
        saved_cfg = json.load(f)["config"]
    assert saved_cfg["D_embed_dim"] == cfg["D_embed_dim"]
    state = torch.load(out, map_location="cpu", weights_only=True)
    model = SpkDeblurNet(**saved_cfg)
    model.load_state_dict(state, strict=True)
    torch.manual_seed(1314)  # train.py's default seed: the same initial weights
    fresh = SpkDeblurNet(**cfg).state_dict()
    qkv = [k for k in state if k.endswith("qkv.weight")]
    dead = [k for k in qkv if k.startswith("S_layers.0.")]  # discarded S anchor layer: no gradient
    assert dead and all(torch.equal(state[k], fresh[k]) for k in dead)
    assert all(not torch.equal(state[k], fresh[k]) for k in qkv if k not in dead)
    tensors = read_safetensors(st)
    assert sorted(tensors) == sorted(state)
    for k, v in state.items():
        assert np.array_equal(tensors[k], v.numpy()), k
    # The config travels with the weights (the Swift loader reads it).
    with open(st, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        meta = json.loads(f.read(n))["__metadata__"]
    assert json.loads(meta["spkdeblurnet_config"]) == saved_cfg


def _tiny_run(tmp_path, seed):
    """torch, the train module, a small data tree and the tiny config, for a few-step run."""
    torch = pytest.importorskip("torch")
    import train

    torch.set_num_threads(1)
    data = str(tmp_path / "data")
    _make_tree(data, np.random.default_rng(seed))
    return torch, train, data, os.path.join(NET_FIX, "tiny.json")


def test_resumed_run_equals_an_uninterrupted_one(tmp_path):
    """A run stopped by its time budget and resumed from --state ends with the same weights,
    optimizer step and schedule as one that ran straight through, and logs every step once."""
    import csv

    torch, train, data, cfg = _tiny_run(tmp_path, 3)
    common = ["--data", data, "--config", cfg, "--steps", "4", "--batch", "2", "--crop", "128",
              "--lr", "3e-4", "--eval-count", "1", "--log-every", "1"]
    straight = str(tmp_path / "straight")
    train.main(common + ["--state", straight, "--out", str(tmp_path / "a.pth")])
    parts = str(tmp_path / "parts")
    # --hours this small stops after the first step; each resume does one more.
    for _ in range(4):
        train.main(common + ["--state", parts, "--resume", "--hours", "1e-9", "--out", str(tmp_path / "b.pth")])
    a = torch.load(os.path.join(straight, "state.pt"), weights_only=True)
    b = torch.load(os.path.join(parts, "state.pt"), weights_only=True)
    assert a["step"] == b["step"] == 4
    for k, v in a["model"].items():
        assert torch.allclose(v.float(), b["model"][k].float(), atol=1e-6), k
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == 4
    with open(os.path.join(parts, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows if r["kind"] == "train"] == [1, 2, 3, 4]
    assert any(r["kind"] == "eval" and float(r["psnr_sharp"]) > 0 for r in rows)
    # Without --resume an existing run is not overwritten.
    with pytest.raises(SystemExit, match="already there"):
        train.main(common + ["--state", parts, "--out", str(tmp_path / "c.pth")])
    # A torn state file is named, not silently restarted.
    with open(os.path.join(parts, "state.pt"), "r+b") as f:
        f.truncate(100)
    with pytest.raises(SystemExit, match="cannot read the resumable state"):
        train.main(common + ["--state", parts, "--resume", "--out", str(tmp_path / "c.pth")])


def test_a_second_phase_starts_from_a_runs_state(tmp_path):
    """--init with another run's state.pt takes its weights (and only them: a new optimizer
    and schedule); weights that do not fit the config are one line."""
    torch, train, data, cfg = _tiny_run(tmp_path, 4)
    common = ["--data", data, "--config", cfg, "--batch", "2", "--crop", "128", "--eval-count", "0",
              "--log-every", "1"]
    first = str(tmp_path / "first")
    train.main(common + ["--steps", "2", "--lr", "3e-4", "--state", first, "--out", str(tmp_path / "a.pth")])
    second = str(tmp_path / "second")
    train.main(common + ["--steps", "1", "--lr", "1e-9", "--lr-min", "1e-9", "--init",
                         os.path.join(first, "state.pt"), "--state", second, "--out", str(tmp_path / "b.pth")])
    a = torch.load(os.path.join(first, "state.pt"), weights_only=True)
    b = torch.load(os.path.join(second, "state.pt"), weights_only=True)
    assert b["step"] == 1 and b["steps"] == 1 and b["scheduler"]["last_epoch"] == 1
    # A learning rate of 1e-9 barely moves the weights it started from.
    for k, v in a["model"].items():
        assert torch.allclose(v.float(), b["model"][k].float(), atol=1e-5), k
    wrong = str(tmp_path / "wrong.pth")
    torch.save({"nope": torch.zeros(1)}, wrong)
    with pytest.raises(SystemExit, match="do not fit the config"):
        train.main(common + ["--steps", "1", "--init", wrong, "--state", str(tmp_path / "third"),
                             "--out", str(tmp_path / "c.pth")])


def test_plot_log_draws_both_panels(tmp_path):
    import plot_log
    from PIL import Image

    log = tmp_path / "log.csv"
    log.write_text("kind,step,hours,loss,lr,psnr_blurry,psnr_quick,psnr_sharp,samples\n"
                   "train,50,0.01,0.3,4e-4,,,,\ntrain,100,0.02,0.2,4e-4,,,,\n"
                   "eval,100,0.02,,,27.0,26.0,28.5,24\neval,200,0.04,,,27.0,27.5,29.0,24\n")
    out = tmp_path / "curve.png"
    plot_log.main([str(log), str(out)])
    im = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert im.shape == (2 * plot_log.H, plot_log.W, 3)
    # The loss line (red) and the held-out sharp line (blue) are drawn.
    assert ((im[:, :, 0] > 150) & (im[:, :, 1] < 100) & (im[:, :, 2] < 100)).sum() > 50
    assert ((im[:, :, 2] > 150) & (im[:, :, 0] < 80)).sum() > 50
