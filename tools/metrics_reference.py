#!/usr/bin/env python3
"""Expected PSNR/SSIM values for the Swift metric tests.

Generates seeded test images, computes PSNR with scikit-image and SSIM with the reference
evaluation's formula (Y channel of BT.601 YCbCr on x255 RGB images, grey images as they are, 11x11 Gaussian sigma 1.5,
OpenCV-style kernel, 'valid' region = the reference's 5-pixel crop of cv2.filter2D output),
and writes the images (raw little-endian float32, HWC) and a JSON of the expected numbers to
Tests/MetricsTests/Fixtures. scikit-image's own SSIM on the same Y channel is recorded as a
cross-check.

Usage: python3 tools/metrics_reference.py
"""
import json
import os

import numpy as np
from scipy.signal import correlate2d
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "MetricsTests", "Fixtures")


def to_y(img_hwc):
    """batch_SSIM's `* 255`, then to_y_channel: Y of RGB images, grey planes as they are."""
    img = (img_hwc * 255).astype(np.float32)
    img = img.astype(np.float32) / 255.0
    if img.shape[2] == 1:
        return img[..., 0] * 255.0  # float32, as to_y_channel returns one-channel images
    img = img * 255.0  # float32, as rgb2ycbcr does in place
    y = np.dot(img, [65.481, 128.553, 24.966]) / 255.0 + 16.0
    return (y / 255.0) * 255.0


def gaussian_window():
    k = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    k = k / k.sum()
    return np.outer(k, k)


def ssim_plane(a, b):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    w = gaussian_window()
    f = lambda x: correlate2d(x, w, mode="valid")
    mu1, mu2 = f(a), f(b)
    s11, s22, s12 = f(a * a) - mu1 ** 2, f(b * b) - mu2 ** 2, f(a * b) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
    return m.mean()


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(2023)
    cases = []
    h, w = 48, 64
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([0.5 + 0.4 * np.sin(xx / 5.0) * np.cos(yy / 7.0),
                     0.5 + 0.3 * np.cos((xx + yy) / 9.0),
                     0.4 + 0.2 * np.sin(xx / 3.0 + yy / 11.0)], axis=-1).astype(np.float32)
    for i, sigma in enumerate([0.01, 0.05, 0.2]):
        noisy = (base + rng.normal(0, sigma, base.shape)).astype(np.float32)  # unclamped, like model outputs
        name = f"case{i}"
        base.tofile(os.path.join(OUT, f"{name}_ref.f32"))
        noisy.tofile(os.path.join(OUT, f"{name}_test.f32"))
        psnr = peak_signal_noise_ratio(base, noisy, data_range=1)
        ssim = ssim_plane(to_y(base), to_y(noisy))
        sk = structural_similarity(to_y(base), to_y(noisy), gaussian_weights=True, sigma=1.5,
                                   use_sample_covariance=False, data_range=255)
        cases.append({"name": name, "height": h, "width": w, "channels": 3, "noise_sigma": sigma,
                      "psnr": float(psnr), "ssim": float(ssim), "skimage_ssim_y": float(sk)})
    # A grey pair, like the spike reconstruction scored against the grey ground truth.
    grey = base[..., :1].copy()
    noisy = (grey + rng.normal(0, 0.05, grey.shape)).astype(np.float32)
    grey.tofile(os.path.join(OUT, "case3_ref.f32"))
    noisy.tofile(os.path.join(OUT, "case3_test.f32"))
    sk = structural_similarity(to_y(grey), to_y(noisy), gaussian_weights=True, sigma=1.5,
                               use_sample_covariance=False, data_range=255)
    cases.append({"name": "case3", "height": h, "width": w, "channels": 1, "noise_sigma": 0.05,
                  "psnr": float(peak_signal_noise_ratio(grey, noisy, data_range=1)),
                  "ssim": float(ssim_plane(to_y(grey), to_y(noisy))), "skimage_ssim_y": float(sk)})
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
    print(json.dumps(cases, indent=1))


if __name__ == "__main__":
    main()
