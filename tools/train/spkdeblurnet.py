"""PyTorch implementation of SpkDeblurNet (NeurIPS 2023) for training and as a benchmark peer.

The module tree mirrors the published checkpoints exactly: every parameter and persistent
buffer has the same name and shape, so ``load_state_dict(strict=True)`` accepts the released
``.pth`` files (after stripping a DataParallel ``module.`` prefix) and the project's fixtures.
The forward pass reproduces the published function including its quirks:

* the spike anchor loop feeds the stem tokens to every anchor layer and keeps only the last
  result (layers ``0 .. S_anchor_num_layers-2`` never influence the outputs);
* the CAMMM hard mask is 1 where the min/max-normalised difference is <= the threshold and
  also where it is exactly 1.0;
* feature maps are reflect-padded bottom/right to multiples of ``4 * window`` after the
  strided stems and the outputs are cropped back to the input size;
* ``D_conv_reduce`` and ``S_conv_reduce`` exist (so checkpoints load) but are never used.

Every constructor option of the reference is implemented, including ``use_conv`` (3x3
convolutions for the attention's qkv/proj and a depthwise 3x3 inside the MLP) and ``ms``
(multi-scale residual groups); the published checkpoints use neither.
"""

from __future__ import annotations

import warnings
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["SpkDeblurNet", "strip_module_prefix", "count_macs", "export_onnx"]


def _conv3(cin: int, cout: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=bias)


def _tokens_to_image(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    b, _, c = x.shape
    return x.transpose(1, 2).reshape(b, c, h, w)


def _image_to_tokens(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    return x.reshape(b, c, h * w).transpose(1, 2)


def _reflect_pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph = (multiple - h % multiple) % multiple
    pw = (multiple - w % multiple) % multiple
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (0, pw, 0, ph), mode="reflect")


def _relative_index(window: int) -> torch.Tensor:
    """idx[i, j] = (hi - hj + w - 1) * (2w - 1) + (wi - wj + w - 1) over a w x w window."""
    ys, xs = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    ys = ys.reshape(-1)
    xs = xs.reshape(-1)
    dy = ys[:, None] - ys[None, :] + (window - 1)
    dx = xs[:, None] - xs[None, :] + (window - 1)
    return (dy * (2 * window - 1) + dx).to(torch.int64)


def _shift_mask(h: int, w: int, window: int, shift: int) -> torch.Tensor:
    """[num_windows, w*w, w*w] additive mask (0 / -100) for shifted windows on an h x w map."""
    def bands(n: int) -> torch.Tensor:
        lab = torch.zeros(n, dtype=torch.int64)
        lab[n - window: n - shift] = 1
        lab[n - shift:] = 2
        return lab

    region = bands(h)[:, None] * 3 + bands(w)[None, :]  # [h, w]
    win = region.reshape(h // window, window, w // window, window).permute(0, 2, 1, 3)
    win = win.reshape(-1, window * window)
    diff = win[:, None, :] - win[:, :, None]
    mask = torch.zeros(diff.shape, dtype=torch.float32)
    mask[diff != 0] = -100.0
    return mask


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, use_conv: bool = False):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.use_conv = use_conv
        if use_conv:  # depthwise 3x3 + GELU on the hidden features, on the image view
            self.conv_layer = nn.Sequential(nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden), nn.GELU())

    def forward(self, x: torch.Tensor, size: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        x = F.gelu(self.fc1(x))
        if self.use_conv:
            x = _image_to_tokens(self.conv_layer(_tokens_to_image(x, size[0], size[1])))
        return self.fc2(x)


class WindowAttention(nn.Module):
    def __init__(self, dim: int, window: int, heads: int, use_conv: bool = False):
        super().__init__()
        self.window = window
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", _relative_index(window))
        self.use_conv = use_conv
        if use_conv:  # 3x3 convolutions on the (rolled) image instead of per-token linears
            self.qkv = _conv3(dim, 3 * dim)
            self.proj = _conv3(dim, dim)
        else:
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def _on_image(self, layer: nn.Module, x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        """Applies a convolution to windowed tokens: windows -> image -> conv -> windows."""
        h, w = size
        ws = self.window
        c = x.shape[-1]
        img = x.reshape(-1, h // ws, w // ws, ws, ws, c).permute(0, 5, 1, 3, 2, 4).reshape(-1, c, h, w)
        y = layer(img)
        co = y.shape[1]
        y = y.reshape(-1, co, h // ws, ws, w // ws, ws).permute(0, 2, 4, 3, 5, 1)
        return y.reshape(-1, ws * ws, co)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor],
                size: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        bw, n, c = x.shape
        hd = c // self.heads
        qkv = self._on_image(self.qkv, x, size) if self.use_conv else self.qkv(x)
        qkv = qkv.reshape(bw, n, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)  # [bw, heads, n, n]
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.reshape(n, n, self.heads).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.reshape(bw // nw, nw, self.heads, n, n) + mask[None, :, None]
            attn = attn.reshape(bw, self.heads, n, n)
        attn = attn.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(bw, n, c)
        return self._on_image(self.proj, out, size) if self.use_conv else self.proj(out)


class SwinBlock(nn.Module):
    def __init__(self, dim: int, resolution: Tuple[int, int], heads: int, window: int, shift: int,
                 mlp_ratio: float, use_mlp: bool, use_conv: bool = False):
        super().__init__()
        if min(resolution) <= window:
            shift = 0
            window = min(resolution)
        self.window = window
        self.shift = shift
        self.resolution = tuple(resolution)
        self.use_mlp = use_mlp
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, heads, use_conv)
        if use_mlp:
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = Mlp(dim, int(dim * mlp_ratio), use_conv)
        if shift > 0:
            self.register_buffer("attn_mask", _shift_mask(resolution[0], resolution[1], window, shift))
        else:
            self.attn_mask = None
        self._mask_cache: Dict[Tuple[int, int, str], torch.Tensor] = {}

    def _mask_for(self, size: Tuple[int, int], ref: torch.Tensor) -> Optional[torch.Tensor]:
        if self.shift == 0:
            return None
        if tuple(size) == self.resolution:
            return self.attn_mask
        key = (size[0], size[1], str(ref.device))
        m = self._mask_cache.get(key)
        if m is None:
            m = _shift_mask(size[0], size[1], self.window, self.shift).to(ref.device)
            self._mask_cache[key] = m
        return m

    def forward(self, x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        h, w = size
        b, _, c = x.shape
        ws, s = self.window, self.shift
        y = self.norm1(x).reshape(b, h, w, c)
        if s > 0:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
        y = y.reshape(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        y = self.attn(y, self._mask_for(size, x), (h, w))
        y = y.reshape(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
        if s > 0:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        x = x + y.reshape(b, h * w, c)
        if self.use_mlp:
            x = x + self.mlp(self.norm2(x), size)
        return x


class BasicLayer(nn.Module):
    def __init__(self, dim: int, resolution: Tuple[int, int], depth: int, heads: int, window: int,
                 mlp_ratio: float, use_mlp: bool, use_conv: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList([
            SwinBlock(dim, resolution, heads, window, 0 if i % 2 == 0 else window // 2, mlp_ratio, use_mlp,
                      use_conv)
            for i in range(depth)
        ])

    def forward(self, x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        for blk in self.blocks:
            x = blk(x, size)
        return x


class RSTB(nn.Module):
    """Residual Swin group: ``x + conv3x3(blocks(x))``.

    With ``ms`` the blocks also run on bilinear half- and quarter-size copies (sides rounded
    down to whole windows), which are upsampled back and fused by a 1x1 convolution.
    """

    def __init__(self, dim: int, resolution: Tuple[int, int], depth: int, heads: int, window: int,
                 mlp_ratio: float, use_mlp: bool, use_conv: bool = False, ms: bool = False):
        super().__init__()
        self.window = window
        self.residual_group = BasicLayer(dim, resolution, depth, heads, window, mlp_ratio, use_mlp, use_conv)
        self.ms = ms
        if ms:
            self.fuse_layer = nn.Conv2d(3 * dim, dim, 1)
        self.last_layer = _conv3(dim, dim)

    def forward(self, x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        h, w = size
        if not self.ms:
            r = self.residual_group(x, size)
            r = self.last_layer(_tokens_to_image(r, h, w))
            return x + _image_to_tokens(r)
        img = _tokens_to_image(x, h, w)
        scales = [_tokens_to_image(self.residual_group(x, size), h, w)]
        for d in (2, 4):
            sh, sw = h // d - (h // d) % self.window, w // d - (w // d) % self.window
            small = F.interpolate(img, size=(sh, sw), mode="bilinear", align_corners=False)
            r = self.residual_group(_image_to_tokens(small), (sh, sw))
            r = _tokens_to_image(r, sh, sw)
            scales.append(F.interpolate(r, size=(h, w), mode="bilinear", align_corners=False))
        r = self.last_layer(self.fuse_layer(torch.cat(scales, dim=1)))
        return x + _image_to_tokens(r)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over channels of a B x C x H x W map (biased variance, eps 1e-5)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), (self.dim,), self.weight, self.bias, 1e-5)
        return y.permute(0, 3, 1, 2)


class _NormHolder(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.body = ChannelLayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class CrossModalAttention(nn.Module):
    """Transposed (channel-wise) cross attention: queries from modality 1, keys/values from 2."""

    def __init__(self, dim1: int, dim2: int, heads: int):
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.q = nn.Conv2d(dim1, dim1, 1, bias=False)
        self.k = nn.Conv2d(dim2, dim2, 1, bias=False)
        self.v = nn.Conv2d(dim2, dim2, 1, bias=False)
        self.q_dwconv = nn.Conv2d(dim1, dim1, 3, padding=1, groups=dim1, bias=False)
        self.k_dwconv = nn.Conv2d(dim2, dim2, 3, padding=1, groups=dim2, bias=False)
        self.v_dwconv = nn.Conv2d(dim2, dim2, 3, padding=1, groups=dim2, bias=False)
        self.project_out = nn.Conv2d(dim1, dim1, 1, bias=False)

    def forward(self, m1: torch.Tensor, m2: torch.Tensor) -> torch.Tensor:
        b, c1, h, w = m1.shape
        c2 = m2.shape[1]
        q = self.q_dwconv(self.q(m1)).reshape(b, self.heads, c1 // self.heads, h * w)
        k = self.k_dwconv(self.k(m2)).reshape(b, self.heads, c2 // self.heads, h * w)
        v = self.v_dwconv(self.v(m2)).reshape(b, self.heads, c2 // self.heads, h * w)
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = ((q @ k.transpose(-2, -1)) * self.temperature).softmax(dim=-1)
        out = (attn @ v).reshape(b, c1, h, w)
        return self.project_out(out)


class CrossModalBlock(nn.Module):
    def __init__(self, dim1: int, dim2: int, heads: int = 4):
        super().__init__()
        self.norm1_model1 = _NormHolder(dim1)
        self.norm1_model2 = _NormHolder(dim2)
        self.attn = CrossModalAttention(dim1, dim2, heads)
        self.norm1_model1_1 = _NormHolder(dim1)
        self.ffn = Mlp(dim1, 4 * dim1)

    def forward(self, m1: torch.Tensor, m2: torch.Tensor) -> torch.Tensor:
        x = m1 + self.attn(self.norm1_model1(m1), self.norm1_model2(m2))
        h, w = x.shape[-2:]
        t = _image_to_tokens(x)
        t = t + self.ffn(_image_to_tokens(self.norm1_model1_1(x)))
        return _tokens_to_image(t, h, w)


class CAMMM(nn.Module):
    """Content-aware motion magnitude module: soft mask from the grey image and the TFI."""

    def __init__(self, hard_thresh: float = 0.1, mid_dim: int = 32):
        super().__init__()
        self.hard_thresh = hard_thresh
        self.conv1 = nn.Conv2d(2, mid_dim, 3, 1, 1)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid_dim + 1, mid_dim + 1, 1))
        self.conv2 = nn.Conv2d(mid_dim + 1, 1, 1)

    def forward(self, gray: torch.Tensor, tfi: torch.Tensor) -> torch.Tensor:
        h, w = gray.shape[-2:]
        tfi = F.interpolate(tfi, size=(h, w), mode="bilinear", align_corners=False)
        d = torch.abs(gray - tfi)
        lo, hi = d.min(), d.max()
        d = (d - lo) / (hi - lo)
        hard = ((d <= self.hard_thresh) | (d == 1.0)).to(gray.dtype)
        f = self.conv1(torch.cat([gray, tfi], 1))
        f = torch.cat([f, hard], 1)
        f = f * self.sca(f)
        return torch.sigmoid(self.conv2(f))


class SpkDeblurNet(nn.Module):
    """SpkDeblurNet; ``forward(blur, spike, tfi) -> (sharp, spike_recon, quick_sharp)``.

    blur: B x 3 x H x W in [0, 1]; spike: B x T x H/2 x W/2 (T = ``S_in_chs``); tfi: B x 1 x H/2 x W/2.
    """

    def __init__(self, D_img_size: int = 256, S_img_size: int = 128,
                 D_in_chs: int = 3, S_in_chs: int = 65, D_out_chs: int = 3, S_out_chs: int = 1,
                 D_embed_dim: int = 180, S_embed_dim: int = 60,
                 D_depths: Sequence[int] = (6, 6, 6, 6, 6, 6), S_depths: Sequence[int] = (6, 6, 6, 6),
                 D_num_heads: Sequence[int] = (6, 6, 6, 6, 6, 6), S_num_heads: Sequence[int] = (6, 6, 6, 6),
                 D_window_size: int = 8, S_window_size: int = 8,
                 D_anchor_num_layers: int = 3, S_anchor_num_layers: int = 3,
                 norm_layer=nn.LayerNorm, use_mlp: bool = True, use_conv: bool = False,
                 skip: bool = True, ms: bool = False, mlp_ratio: float = 2.0,
                 window_size: Optional[int] = None):
        super().__init__()
        if norm_layer is not nn.LayerNorm:
            raise ValueError("SpkDeblurNet: only norm_layer=nn.LayerNorm is supported")
        if not skip:
            raise ValueError("SpkDeblurNet: skip=False leaves outputs undefined in the reference")
        if window_size is not None:
            D_window_size = S_window_size = window_size
        if len(D_depths) != len(D_num_heads) or len(S_depths) != len(S_num_heads):
            raise ValueError("SpkDeblurNet: depths and num_heads must have the same length")
        if not (0 < D_anchor_num_layers <= len(D_depths)) or not (0 < S_anchor_num_layers <= len(S_depths)):
            raise ValueError("SpkDeblurNet: anchor_num_layers must be in 1...len(depths)")
        if D_window_size != S_window_size:
            raise ValueError("SpkDeblurNet: D and S windows must match (feature maps are fused)")
        self.config = dict(D_img_size=D_img_size, S_img_size=S_img_size, D_in_chs=D_in_chs,
                           S_in_chs=S_in_chs, D_out_chs=D_out_chs, S_out_chs=S_out_chs,
                           D_embed_dim=D_embed_dim, S_embed_dim=S_embed_dim,
                           D_depths=list(D_depths), S_depths=list(S_depths),
                           D_num_heads=list(D_num_heads), S_num_heads=list(S_num_heads),
                           D_window_size=D_window_size, S_window_size=S_window_size,
                           D_anchor_num_layers=D_anchor_num_layers,
                           S_anchor_num_layers=S_anchor_num_layers)
        if use_conv or ms or not use_mlp:  # record only departures from the published model
            self.config.update(use_mlp=use_mlp, use_conv=use_conv, ms=ms)
        if mlp_ratio != 2.0:  # the published model hard-codes 2; record only a departure
            self.config["mlp_ratio"] = mlp_ratio
        self.window = D_window_size
        self.Da = D_anchor_num_layers
        self.Sa = S_anchor_num_layers
        # When False the forward pass evaluates the S anchor layers whose result the reference
        # throws away (identical outputs). True skips them.
        self.skip_dead_anchor_layers = False
        cd, cs = D_embed_dim, S_embed_dim

        self.D_conv_down = nn.Sequential(_conv3(D_in_chs, cd, 2), nn.GELU(), _conv3(cd, cd, 2))
        self.conv_masked_blur = nn.Sequential(_conv3(1, cs, 2), nn.GELU(), _conv3(cs, cs, 2))
        self.D_conv_reduce = nn.Sequential(_conv3(cd + cs, cd))
        dres = (D_img_size // D_window_size,) * 2
        self.D_layers = nn.ModuleList([
            RSTB(cd, dres, d, h, D_window_size, mlp_ratio, use_mlp, use_conv, ms)
            for d, h in zip(D_depths, D_num_heads)
        ])
        self.D_mid_shuffle_up = nn.Sequential(_conv3(cd, D_out_chs * 16), nn.PixelShuffle(4))
        self.D_last_shuffle_up = nn.Sequential(_conv3(cd, D_out_chs * 16), nn.PixelShuffle(4))

        self.S_conv_down = nn.Sequential(_conv3(S_in_chs, cs, 2))
        self.S_conv_reduce = nn.Sequential(_conv3(2 * cs, cs))
        sres = (S_img_size // S_window_size,) * 2
        self.S_layers = nn.ModuleList([
            RSTB(cs, sres, d, h, S_window_size, mlp_ratio, use_mlp, use_conv, ms)
            for d, h in zip(S_depths, S_num_heads)
        ])
        self.S_shuffle_up = nn.Sequential(_conv3(cs, S_out_chs * 16), nn.PixelShuffle(4))
        self.S_conv_after_body = nn.Conv2d(cs, cs, 3, 1, 1)

        self.cross_attention_1 = CrossModalBlock(cs, cs, 4)
        self.cross_attention_2 = CrossModalBlock(cd, cs, 4)
        self.cammm = CAMMM()
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, blur: torch.Tensor, spike: torch.Tensor, tfi: torch.Tensor):
        hb, wb = blur.shape[-2:]
        hs, ws = spike.shape[-2:]
        pad = 4 * self.window

        # D anchor -> quick_sharp
        d = _reflect_pad_to(self.D_conv_down(blur), pad)
        dh, dw = d.shape[-2:]
        stem = _image_to_tokens(d)
        x = stem
        for i in range(self.Da):
            x = self.D_layers[i](x, (dh, dw))
        mid_blur = stem + x
        quick_sharp = self.D_mid_shuffle_up(_tokens_to_image(mid_blur, dh, dw))[:, :, :hb, :wb]

        # S anchor (quirk: every anchor layer sees the stem, only the last result is kept)
        s = _reflect_pad_to(self.S_conv_down(spike), pad)
        sh, sw = s.shape[-2:]
        if (sh, sw) != (dh, dw):
            raise ValueError(f"SpkDeblurNet: blur {hb}x{wb} must be exactly twice the spike size {hs}x{ws}")
        s_stem = _image_to_tokens(s)
        first = self.Sa - 1 if self.skip_dead_anchor_layers else 0
        mid_spike = s_stem
        for i in range(first, self.Sa):
            mid_spike = self.S_layers[i](s_stem, (sh, sw))
        mid_spike = mid_spike + s_stem

        # CAMMM-masked grey blur -> fusion with the spike features
        gray = 0.2989 * quick_sharp[:, 0:1] + 0.587 * quick_sharp[:, 1:2] + 0.114 * quick_sharp[:, 2:3]
        soft = self.cammm(gray, tfi)
        masked = _reflect_pad_to(self.conv_masked_blur(soft * gray), pad)
        fusion = self.cross_attention_1(_tokens_to_image(mid_spike, sh, sw), masked)

        # S tail -> spike_recon
        t = _image_to_tokens(fusion)
        for i in range(self.Sa, len(self.S_layers)):
            t = self.S_layers[i](t, (sh, sw))
        s_tail = _tokens_to_image(t, sh, sw)
        spike_img = fusion + self.S_conv_after_body(s_tail)
        spike_recon = self.S_shuffle_up(spike_img)[:, :, :2 * hs, :2 * ws]

        # refine the blur features with the S tail output, D tail -> sharp
        refined = _image_to_tokens(self.cross_attention_2(_tokens_to_image(mid_blur, dh, dw), s_tail))
        y = refined
        for i in range(self.Da, len(self.D_layers)):
            y = self.D_layers[i](y, (dh, dw))
        blur_fea = refined + y
        sharp = self.D_last_shuffle_up(_tokens_to_image(blur_fea, dh, dw))[:, :, :hb, :wb]
        return sharp, spike_recon, quick_sharp


def strip_module_prefix(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Drops a DataParallel ``module.`` prefix from every key (if all keys carry it)."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


def count_macs(config: dict, height: int, width: int, include_dead_anchor: bool = True) -> Dict[str, int]:
    """Multiply-adds of one forward pass at blur size height x width (convs, linears, attention
    matmuls; norms, softmax and elementwise work are not counted).

    Returns a dict with ``total`` and ``dead_anchor`` (the S anchor layers whose result is
    discarded; included in ``total`` when ``include_dead_anchor``).
    """
    c = dict(D_in_chs=3, S_in_chs=65, D_out_chs=3, S_out_chs=1, D_embed_dim=180, S_embed_dim=60,
             D_depths=[6] * 6, S_depths=[6] * 4, D_num_heads=[6] * 6, S_num_heads=[6] * 4,
             D_window_size=8, D_anchor_num_layers=3, S_anchor_num_layers=3, mlp_ratio=2.0)
    c.update({k: v for k, v in config.items() if v is not None})
    if "window_size" in config:
        c["D_window_size"] = config["window_size"]
    win = c["D_window_size"]
    cd, cs = c["D_embed_dim"], c["S_embed_dim"]
    mr = c["mlp_ratio"]

    def conv_out(n: int) -> int:  # k3 s2 p1
        return (n - 1) // 2 + 1

    def up(n: int, m: int) -> int:
        return n + (m - n % m) % m

    h2, w2 = conv_out(height), conv_out(width)
    h4, w4 = conv_out(h2), conv_out(w2)
    fh, fw = up(h4, 4 * win), up(w4, 4 * win)
    sh2, sw2 = height // 2, width // 2
    sh, sw = conv_out(sh2), conv_out(sw2)
    n = fh * fw  # tokens (both branches share the padded size)

    def conv(cin, cout, hw, k=3, groups=1):
        return hw * cout * (cin // groups) * k * k

    def rstb(dim, depth):
        hidden = int(dim * mr)
        per_block = n * (3 * dim * dim + dim * dim + 2 * dim * hidden) + 2 * n * win * win * dim
        return depth * per_block + conv(dim, dim, n)

    def tcaf(d1, d2):
        m = conv(d1, d1, n, 1) + 2 * conv(d2, d2, n, 1) + conv(d1, d1, n, 3, d1) + 2 * conv(d2, d2, n, 3, d2)
        m += 2 * n * d1 * d2 // 4  # q k^T and A v over 4 heads
        m += conv(d1, d1, n, 1) + 2 * n * d1 * 4 * d1
        return m

    total = 0
    total += conv(c["D_in_chs"], cd, h2 * w2) + conv(cd, cd, h4 * w4)
    total += sum(rstb(cd, d) for d in c["D_depths"])
    total += 2 * conv(cd, c["D_out_chs"] * 16, n)
    total += conv(c["S_in_chs"], cs, sh * sw)
    sa = c["S_anchor_num_layers"]
    dead = sum(rstb(cs, d) for d in c["S_depths"][:sa - 1])
    total += sum(rstb(cs, d) for d in c["S_depths"][sa - 1:])
    total += conv(cs, cs, n) + conv(cs, c["S_out_chs"] * 16, n)
    total += conv(2, 32, height * width) + 33 * 33 + conv(33, 1, height * width, 1)
    total += conv(1, cs, h2 * w2) + conv(cs, cs, h4 * w4)
    total += tcaf(cs, cs) + tcaf(cd, cs)
    if include_dead_anchor:
        total += dead
    return {"total": total, "dead_anchor": dead}


def export_onnx(model: nn.Module, inputs: Tuple[torch.Tensor, ...], path: str, opset: int = 17) -> None:
    """Exports ``model`` traced at the shapes of ``inputs`` (blur, spike, tfi) as an ONNX graph
    with static shapes (inputs ``blur``/``spike``/``tfi``, outputs ``sharp``/``spike_recon``/
    ``quick_sharp``)."""
    kwargs = dict(input_names=["blur", "spike", "tfi"], output_names=["sharp", "spike_recon", "quick_sharp"],
                  opset_version=opset, do_constant_folding=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        try:
            torch.onnx.export(model, inputs, path, dynamo=False, **kwargs)
        except TypeError:  # older torch without the dynamo switch
            torch.onnx.export(model, inputs, path, **kwargs)
