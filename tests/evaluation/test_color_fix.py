"""Colour correction toward the LQ input (adain / wavelet) and where the protocol applies it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from evaluation import EvalConfig, evaluate
from evaluation.color_fix import adain, color_fix, wavelet_split
from evaluation.images import list_images, prepare_image
from evaluation.pixel_metrics import psnr_y


def _pictures(photo_dir):
    image = prepare_image(list_images(str(photo_dir), limit=1)[0], 128, "s3diff", 4, 0)
    return image.clean, image.upsampled


def test_adain_gives_the_reference_channel_statistics(photo_dir):
    clean, reference = _pictures(photo_dir)
    tinted = np.clip(clean.astype(np.float32) * (0.7, 1.0, 1.2) + (30, 0, -10), 0, 255).astype(np.uint8)
    fixed = color_fix(tinted, reference, "adain")
    assert fixed.dtype == np.uint8 and fixed.shape == clean.shape
    for channel in range(3):
        assert abs(fixed[..., channel].mean() - reference[..., channel].mean()) < 1.0  # truncation costs < 1 level
        assert abs(fixed[..., channel].std() - reference[..., channel].std()) < 2.0
    assert abs(tinted[..., 0].mean() - reference[..., 0].mean()) > 10  # the tint was real
    assert psnr_y(fixed, clean) > psnr_y(tinted, clean) + 3


def test_adain_matches_the_formula_on_floats():
    generator = torch.Generator().manual_seed(0)
    content, reference = (
        torch.rand(1, 3, 16, 16, generator=generator),
        torch.rand(1, 3, 16, 16, generator=generator) * 0.5,
    )
    out = adain(content, reference)
    for channel in range(3):
        expected = (content[0, channel] - content[0, channel].mean()) / (content[0, channel].var() + 1e-5).sqrt() * (
            reference[0, channel].var() + 1e-5
        ).sqrt() + reference[0, channel].mean()
        torch.testing.assert_close(out[0, channel], expected)


def test_wavelet_keeps_the_detail_and_takes_the_reference_colours(photo_dir):
    clean, reference = _pictures(photo_dir)
    high, low = wavelet_split(torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255)
    torch.testing.assert_close(high + low, torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255)
    shifted = np.clip(clean.astype(np.int16) + (25, -15, 10), 0, 255).astype(np.uint8)  # a flat colour cast
    fixed = color_fix(shifted, clean, "wavelet")
    assert np.abs(fixed.astype(int) - clean).mean() < 1.5  # the cast is low frequency: removed
    assert np.abs(shifted.astype(int) - clean).mean() > 10
    flat = np.full_like(clean, 128)
    toward_flat = color_fix(clean, flat, "wavelet")  # detail of the photo survives a flat reference
    assert toward_flat.std() > 0.3 * clean.std()
    assert color_fix(clean, reference, "none") is clean


def test_bad_colour_fix_input_is_named():
    with pytest.raises(ValueError, match="unknown colour fix 'histogram'"):
        color_fix(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), "histogram")
    with pytest.raises(ValueError, match="one size"):
        color_fix(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 16, 3), np.uint8), "adain")
    with pytest.raises(ValueError, match="colour fix stage 'codec'"):
        EvalConfig(data=".", color_fix="adain", color_fix_at="codec")


def _tinting_model(picture, codec, bpp):
    return np.clip(picture.astype(np.int16) + (40, 0, -30), 0, 255).astype(np.uint8)


_tinting_model.input_scale = 1


def test_protocol_applies_the_fix_where_configured(small_config, pixel_suite):
    models = {"tint": _tinting_model}
    base = small_config(limit=1, qps=(37,), crop_images=0)
    plain = evaluate(base, models, pixel_suite, progress=False).rows[0]
    decoded = evaluate(dataclasses.replace(base, color_fix="adain"), models, pixel_suite, progress=False).rows[0]
    before = evaluate(
        dataclasses.replace(base, color_fix="adain", color_fix_at="sr"), models, pixel_suite, progress=False
    ).rows[0]
    # after the codec: same bitstream, better picture; before the codec: another bitstream (the fixed SR was encoded)
    assert decoded["sha256"] == plain["sha256"] and decoded["psnr_rgb"] > plain["psnr_rgb"] + 2
    assert before["sha256"] != plain["sha256"] and before["psnr_rgb"] > plain["psnr_rgb"] + 2
    assert before["sr_psnr_y"] > plain["sr_psnr_y"] and decoded["sr_psnr_y"] == plain["sr_psnr_y"]
