from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from codec_bindings import psnr
from evaluation.pixel_metrics import luma, psnr_rgb, psnr_y, ssim_rgb, ssim_y
from pipeline.crop import center_crop_resized
from pipeline.decode_image import decode_image


@pytest.fixture(scope="module")
def photo_pair(photo_dir):
    clean, _ = center_crop_resized(decode_image((photo_dir / "motorcycle.png").read_bytes(), "motorcycle"), 128)
    return clean, cv2.GaussianBlur(clean, (0, 0), 1.2)


def _skimage_ssim(a, b, **kwargs):
    return structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, **kwargs
    )


def test_ssim_equals_scikit_image(photo_pair):
    clean, blurred = photo_pair
    assert ssim_rgb(blurred, clean) == pytest.approx(_skimage_ssim(blurred, clean, channel_axis=-1), abs=1e-9)
    assert ssim_y(blurred, clean) == pytest.approx(_skimage_ssim(luma(blurred), luma(clean)), abs=1e-9)
    assert ssim_rgb(clean, clean) == pytest.approx(1.0) and ssim_y(clean, clean) == pytest.approx(1.0)


def test_ssim_close_to_pytorch_msssim(photo_pair):
    import pytorch_msssim
    import torch

    clean, blurred = photo_pair
    tensors = [torch.from_numpy(x).permute(2, 0, 1)[None].double() for x in (blurred, clean)]
    assert ssim_rgb(blurred, clean) == pytest.approx(float(pytorch_msssim.ssim(*tensors, data_range=255)), abs=2e-3)


def test_psnr_y_and_rgb(photo_pair):
    clean, blurred = photo_pair
    assert psnr_rgb(blurred, clean) == psnr(clean, blurred)
    flat = np.random.default_rng(0).integers(20, 200, size=(32, 32, 3), dtype=np.uint8)
    # +4 on every channel moves Y by 4 * (65.481 + 128.553 + 24.966) / 255 = 4 * 219 / 255 everywhere
    assert psnr_y(flat + 4, flat) == pytest.approx(10 * math.log10(255**2 / (4 * 219 / 255) ** 2))
    assert psnr_y(clean, clean) == math.inf
    assert 20 < psnr_y(blurred, clean) < 40
    assert luma(np.array([[[255, 255, 255]]], np.uint8))[0, 0] == pytest.approx(235.0)
