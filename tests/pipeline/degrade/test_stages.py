"""pipeline.degrade: noise, JPEG, presets (DESIGN.md table), replay of the record, errors."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter

import cv2
import numpy as np
import pytest

from pipeline import degrade_kernels as dk
from pipeline.degrade import (
    PRESETS,
    DegradationPreset,
    add_noise,
    apply_blur,
    degrade,
    gaussian_noise,
    jpeg_compress,
    poisson_noise,
    resize,
    rng_for_sample,
)
from tests.pipeline.degrade.helpers import KERNEL_KEYS, center_crop, psnr

# --- noise and JPEG ------------------------------------------------------------------------------


def test_gaussian_noise_sigma_is_on_255_scale():
    rng = rng_for_sample("noise", 0)
    color = gaussian_noise(rng, (200, 200, 3), 20.0, gray=False)
    gray = gaussian_noise(rng, (200, 200, 3), 20.0, gray=True)
    assert abs(color.std() * 255 - 20.0) < 0.5 and abs(color.mean()) < 0.002
    assert not np.allclose(color[..., 0], color[..., 1])
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    assert abs(gray.std() * 255 - 20.0) < 0.7


def test_poisson_noise_variance_follows_intensity(photos):
    image = photos[0].astype(np.float32) / 255.0
    noise = poisson_noise(rng_for_sample("poisson", 0), image, 2.0, gray=False)
    levels = 2.0 ** math.ceil(math.log2(len(np.unique(photos[0]))))
    assert abs(noise.mean()) < 1e-3
    np.testing.assert_allclose(noise.var(), 4.0 * image.mean() / levels, rtol=0.05)
    gray = poisson_noise(rng_for_sample("poisson", 0), image, 1.0, gray=True)
    np.testing.assert_array_equal(gray[..., 0], gray[..., 1])


def test_add_noise_clips_to_unit_range():
    bright = np.full((32, 32, 3), 0.99, np.float32)
    noisy, params = add_noise(bright, rng_for_sample("clip", 3), PRESETS["realesrgan"].stage1)
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0 and params["type"] in ("gaussian", "poisson")


def test_jpeg_quality_controls_loss(photos):
    clean = center_crop(photos[3], 128, 128)
    image = clean.astype(np.float32) / 255.0
    high, low = jpeg_compress(image, 95), jpeg_compress(image, 30)
    assert high.dtype == np.float32 and high.shape == image.shape
    assert psnr(np.rint(high * 255), clean) > psnr(np.rint(low * 255), clean) + 3
    assert psnr(np.rint(high * 255), clean) > 35


# --- presets, no-degradation, errors -------------------------------------------------------------


# DESIGN.md "Degradation presets" table, column by column: (stage 1, stage 2).
DESIGN_TABLE = {
    "realesrgan": {
        "kernel_size": (21, 21),
        "sigma_range": ((0.2, 3), (0.2, 1.5)),
        "betag_range": ((0.5, 4), (0.5, 4)),
        "betap_range": ((1, 2), (1, 2)),
        "resize_range": ((0.15, 1.5), (0.3, 1.2)),
        "noise_range": ((1, 30), (1, 25)),
        "poisson_scale_range": ((0.05, 3), (0.05, 2.5)),
        "jpeg_range": ((30, 95), (30, 95)),
        "second_blur_prob": 0.8,
        "no_degradation_prob": 0.0,
    },
    "s3diff": {
        "kernel_size": (21, 11),
        "sigma_range": ((0.2, 1.5), (0.2, 1.0)),
        "betag_range": ((0.5, 2), (0.5, 2)),
        "betap_range": ((1, 1.5), (1, 1.5)),
        "resize_range": ((0.3, 1.5), (0.6, 1.2)),
        "noise_range": ((1, 15), (1, 12)),
        "poisson_scale_range": ((0.05, 2), (0.05, 1)),
        "jpeg_range": ((60, 95), (60, 100)),
        "second_blur_prob": 0.5,
        "no_degradation_prob": 0.01,
    },
}


@pytest.mark.parametrize("name", sorted(DESIGN_TABLE))
def test_presets_hold_the_design_table(name):
    preset, table = PRESETS[name], DESIGN_TABLE[name]
    assert preset.name == name
    for field, value in table.items():
        if field in ("second_blur_prob", "no_degradation_prob"):
            assert getattr(preset, field) == value, field
        else:
            assert (getattr(preset.stage1, field), getattr(preset.stage2, field)) == value, field
    assert preset.final_sinc_prob == 0.8 and preset.scale == 4
    assert preset.stage1.resize_probs == (0.2, 0.7, 0.1) and preset.stage2.resize_probs == (0.3, 0.4, 0.3)
    for stage in (preset.stage1, preset.stage2):
        assert (stage.sinc_prob, stage.gaussian_noise_prob, stage.gray_noise_prob) == (0.1, 0.5, 0.4)
        assert stage.kernel_types == dk.KERNEL_TYPES
        assert stage.kernel_probs == (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.scale = 2  # type: ignore[misc]
    json.dumps(dataclasses.asdict(preset))  # the config can travel with the data


def replay_without_noise(clean: np.ndarray, record: dict) -> np.ndarray:
    """Rebuild the output from the record alone (valid when the noise sigma is 0)."""

    def blur(image, prefix):
        return apply_blur(image, dk.build_kernel({key: record[f"{prefix}_{key}"] for key in KERNEL_KEYS}))

    def resize_and_sinc(image):
        size = (clean.shape[0] // record["scale"], clean.shape[1] // record["scale"])
        image = resize(image, *size, record["final_resize_mode"])
        if record["final_sinc_applied"]:
            image = apply_blur(image, dk.sinc_kernel(record["final_sinc_kernel_size"], record["final_sinc_omega_c"]))
        return image

    image = blur(clean.astype(np.float32) / np.float32(255.0), "blur1")
    image = resize(image, record["resize1_height"], record["resize1_width"], record["resize1_mode"])
    image = jpeg_compress(np.clip(image, 0, 1), record["jpeg1_quality"])
    if record["blur2_applied"]:
        image = blur(image, "blur2")
    image = np.clip(resize(image, record["resize2_height"], record["resize2_width"], record["resize2_mode"]), 0, 1)
    if record["final_order"] == "sinc_then_jpeg":
        image = jpeg_compress(resize_and_sinc(image), record["jpeg2_quality"])
    else:
        image = resize_and_sinc(jpeg_compress(image, record["jpeg2_quality"]))
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_record_replays_the_pipeline_in_order(photos, name):
    """With zero-strength noise the record alone must rebuild the output bit for bit."""
    silent = {"gaussian_noise_prob": 1.0, "noise_range": (0.0, 0.0)}
    preset = PRESETS[name]
    quiet = dataclasses.replace(
        preset, stage1=dataclasses.replace(preset.stage1, **silent), stage2=dataclasses.replace(preset.stage2, **silent)
    )
    clean = center_crop(photos[2], 96, 128)
    seen = Counter()
    for i in range(24):
        out, record = degrade(clean, quiet, rng_for_sample(f"replay-{i}", 2))
        if record["no_degradation"]:
            continue
        seen.update([record["final_order"], f"blur2={record['blur2_applied']}", f"sinc={record['final_sinc_applied']}"])
        np.testing.assert_array_equal(out, replay_without_noise(clean, record), err_msg=str(record))
    assert len(seen) == 6, seen  # both orders, with and without blur 2 and final sinc


def test_apply_blur_is_correlation_with_reflect_borders():
    image = rng_for_sample("blur", 0).random((9, 11, 3), dtype=np.float32)
    kernel = rng_for_sample("blur-kernel", 0).random((7, 7))  # not point-symmetric: correlation != convolution
    padded = np.pad(image, ((3, 3), (3, 3), (0, 0)), mode="reflect")
    expected = sum(kernel[dy, dx] * padded[dy : dy + 9, dx : dx + 11] for dy in range(7) for dx in range(7))
    np.testing.assert_allclose(apply_blur(image, kernel), expected, atol=1e-5)


def test_no_degradation_is_a_clean_area_downscale(photos):
    clean = center_crop(photos[0], 64, 64)
    always = dataclasses.replace(PRESETS["s3diff"], no_degradation_prob=1.0)
    out, params = degrade(clean, always, rng_for_sample("clean", 0))
    expected = cv2.resize(clean.astype(np.float32) / 255.0, (16, 16), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(out, np.clip(np.rint(expected * 255), 0, 255).astype(np.uint8))
    assert params["no_degradation"] is True and params["blur1_kernel_type"] is None
    assert isinstance(always, DegradationPreset)


def test_s3diff_is_milder_than_realesrgan(photos):
    differences = []
    for i in range(30):
        clean = center_crop(photos[i % len(photos)], 256, 256)
        scores = {}
        for name in PRESETS:
            out, _ = degrade(clean, name, rng_for_sample(f"mild-{i}", 5))
            scores[name] = psnr(cv2.resize(out, (256, 256), interpolation=cv2.INTER_CUBIC), clean)
        differences.append(scores["s3diff"] - scores["realesrgan"])
    assert np.mean(differences) > 0.5, np.mean(differences)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((64, 64, 3), np.float32), "uint8"),
        (np.zeros((64, 64), np.uint8), "HxWx3"),
        (np.zeros((64, 64, 4), np.uint8), "HxWx3"),
        (np.zeros((62, 64, 3), np.uint8), "multiple of scale 4"),
        (np.zeros((0, 64, 3), np.uint8), "multiple of scale"),
        ([[0, 0, 0]], "numpy array"),
    ],
)
def test_bad_input_raises(bad, message):
    with pytest.raises(ValueError, match=message):
        degrade(bad, "realesrgan", rng_for_sample("bad", 0))


def test_bad_scale_and_unknown_preset_raise():
    clean = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="positive integer"):
        degrade(clean, "realesrgan", rng_for_sample("bad", 0), scale=0)
    with pytest.raises(ValueError, match="multiple of scale 3"):
        degrade(clean, "realesrgan", rng_for_sample("bad", 0), scale=3)
    with pytest.raises(ValueError, match="realesrgan, s3diff") as info:
        degrade(clean, "bsrgan", rng_for_sample("bad", 0))
    assert "bsrgan" in str(info.value)
