"""The PyTorch SpkDeblurNet must load the fixture weights strictly and reproduce the outputs
the published implementation computed on the fixture inputs."""

import json
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(ROOT, "Tests", "SpkDeblurNetTests", "Fixtures")
sys.path.insert(0, HERE)

from safetensors_io import read_safetensors, write_safetensors  # noqa: E402
from spkdeblurnet import SpkDeblurNet, count_macs, export_onnx, strip_module_prefix  # noqa: E402


def _config():
    with open(os.path.join(FIX, "tiny.json")) as f:
        return json.load(f)


def _model_from_safetensors():
    meta = _config()
    model = SpkDeblurNet(**meta["config"])
    state = {k: torch.from_numpy(v) for k, v in read_safetensors(os.path.join(FIX, "tiny.weights.safetensors")).items()}
    model.load_state_dict(strip_module_prefix(state), strict=True)
    return model.eval(), meta


def _run(model):
    io = read_safetensors(os.path.join(FIX, "tiny.io.safetensors"))
    with torch.no_grad():
        out = model(torch.from_numpy(io["blur"]), torch.from_numpy(io["spike"]), torch.from_numpy(io["tfi"]))
    return dict(zip(("sharp", "spike_recon", "quick_sharp"), out)), io


def test_parameter_count_matches_fixture_and_default():
    meta = _config()
    model = SpkDeblurNet(**meta["config"])
    assert sum(p.numel() for p in model.parameters()) == meta["params"]
    assert sum(p.numel() for p in SpkDeblurNet(S_in_chs=56).parameters()) == 13_464_684


def test_matches_reference_outputs_safetensors():
    model, meta = _model_from_safetensors()
    got, io = _run(model)
    for name in ("sharp", "spike_recon", "quick_sharp"):
        ref = io[name]
        assert tuple(got[name].shape) == tuple(meta["shapes"][name])
        err = float(np.max(np.abs(got[name].numpy() - ref)))
        assert err <= 1e-4, f"{name}: max abs error {err}"


@pytest.mark.parametrize("variant", ["conv", "ms"])
def test_variants_match_reference_outputs(variant):
    """use_conv and ms (with use_mlp false) against the reference model's outputs."""
    with open(os.path.join(FIX, f"{variant}.json")) as f:
        meta = json.load(f)
    model = SpkDeblurNet(**meta["config"])
    weights = read_safetensors(os.path.join(FIX, f"{variant}.weights.safetensors"))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    assert sum(p.numel() for p in model.parameters()) == meta["params"]
    io = read_safetensors(os.path.join(FIX, f"{variant}.io.safetensors"))
    with torch.no_grad():
        out = model.eval()(*(torch.from_numpy(io[k]) for k in ("blur", "spike", "tfi")))
    for name, got in zip(("sharp", "spike_recon", "quick_sharp"), out):
        err = float(np.max(np.abs(got.numpy() - io[name])))
        assert err <= 1e-4, f"{variant} {name}: max abs error {err}"


def test_loads_pth_strictly_and_matches():
    meta = _config()
    model = SpkDeblurNet(**meta["config"])
    state = torch.load(os.path.join(FIX, "tiny.pth"), map_location="cpu", weights_only=True)
    model.load_state_dict(strip_module_prefix(state), strict=True)
    got, io = _run(model.eval())
    err = float(np.max(np.abs(got["sharp"].numpy() - io["sharp"])))
    assert err <= 1e-4


def test_dead_anchor_skip_gives_same_outputs():
    model, _ = _model_from_safetensors()
    full, _ = _run(model)
    model.skip_dead_anchor_layers = True
    fast, _ = _run(model)
    for k in full:
        assert torch.equal(full[k], fast[k]), k


def test_buffers_match_recomputed_values():
    model, _ = _model_from_safetensors()
    fresh = SpkDeblurNet(**_config()["config"])
    loaded = dict(model.named_buffers())
    for name, buf in fresh.named_buffers():
        assert torch.equal(buf, loaded[name]), name


def test_safetensors_roundtrip(tmp_path):
    a = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.array([1, -2], dtype=np.int64)}
    p = str(tmp_path / "x.safetensors")
    write_safetensors(p, a)
    back = read_safetensors(p)
    assert list(back) == ["a", "b"]
    for k in a:
        assert back[k].dtype == a[k].dtype and np.array_equal(back[k], a[k])


def test_mac_count_default_config():
    m = count_macs({"S_in_chs": 56}, 500, 800)
    # 2 FLOP per multiply-add: ~793 GFLOP per 500x800 frame, ~29 GFLOP of it in the
    # S anchor layers whose result the published forward pass discards.
    assert 790e9 < 2 * m["total"] < 797e9, m
    assert 28e9 < 2 * m["dead_anchor"] < 30e9, m
    lean = count_macs({"S_in_chs": 56}, 500, 800, include_dead_anchor=False)
    assert lean["total"] == m["total"] - m["dead_anchor"]


def test_onnx_export_matches_reference_outputs(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model, _ = _model_from_safetensors()
    io = read_safetensors(os.path.join(FIX, "tiny.io.safetensors"))
    inputs = {k: io[k] for k in ("blur", "spike", "tfi")}
    path = str(tmp_path / "tiny.onnx")
    export_onnx(model, tuple(torch.from_numpy(v) for v in inputs.values()), path)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    outs = sess.run(["sharp", "spike_recon", "quick_sharp"], inputs)
    for name, got in zip(("sharp", "spike_recon", "quick_sharp"), outs):
        err = float(np.max(np.abs(got - io[name])))
        assert err <= 1e-4, f"{name}: max abs error {err}"
