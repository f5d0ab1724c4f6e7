"""Tests for pipeline.degrade and pipeline.degrade_kernels (Real-ESRGAN second-order degradation)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline import degrade_kernels as dk
from pipeline.degrade import (
    PARAM_KEYS, PRESETS, DegradationPreset, add_noise, apply_blur, degrade, gaussian_noise, jpeg_compress,
    poisson_noise, resize, rng_for_sample,
)

KODAK_DIR = Path("/work/shared/data/kodak")
KERNEL_KEYS = ("kernel_type", "kernel_size", "sigma_x", "sigma_y", "angle", "beta", "omega_c")


@pytest.fixture(scope="module")
def kodak_images() -> list[np.ndarray]:
    """Four Kodak images as RGB uint8; skips when the folder is missing."""
    paths = sorted(KODAK_DIR.glob("*.png"))[:4]
    if not paths:
        pytest.skip(f"Kodak test images not found: expected kodim*.png in {KODAK_DIR}")
    return [np.asarray(Image.open(path).convert("RGB")) for path in paths]


def center_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return np.ascontiguousarray(image[top:top + height, left:left + width])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10.0 * math.log10(255.0**2 / mse)


def within_binomial(count: int, trials: int, prob: float, sigmas: float = 4.5) -> bool:
    return abs(count - trials * prob) <= sigmas * math.sqrt(trials * prob * (1 - prob)) + 1


@pytest.fixture(scope="module")
def many_draws(kodak_images) -> dict[str, list[dict]]:
    """300 degradations of a 64x64 crop per preset (records only)."""
    crop = center_crop(kodak_images[0], 64, 64)
    return {name: [degrade(crop, name, rng_for_sample(f"draw-{i}", 7))[1] for i in range(300)] for name in PRESETS}


# --- seeding and determinism -------------------------------------------------------------------


def test_rng_for_sample_depends_on_key_and_seed_only():
    draws = lambda key, seed: rng_for_sample(key, seed).integers(0, 2**62, size=4).tolist()  # noqa: E731
    assert draws("img-1", 3) == draws("img-1", 3)
    assert draws("img-1", 3) != draws("img-1", 4)
    assert draws("img-1", 3) != draws("img-2", 3)
    assert draws("1:a", 2) != draws("a", 21)  # the separator keeps fields apart


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_same_key_and_seed_give_identical_bytes(kodak_images, preset):
    clean = center_crop(kodak_images[1], 128, 96)
    before = clean.copy()
    outputs = [degrade(clean, preset, rng_for_sample(f"key-{i}", 11)) for i in range(6)]
    again = [degrade(clean, preset, rng_for_sample(f"key-{i}", 11)) for i in range(6)]
    for (first, first_params), (second, second_params) in zip(outputs, again):
        assert first.tobytes() == second.tobytes()
        assert first_params == second_params
    other_seed = degrade(clean, preset, rng_for_sample("key-0", 12))[0]
    assert other_seed.tobytes() != outputs[0][0].tobytes()
    assert len({out.tobytes() for out, _ in outputs}) == len(outputs)
    np.testing.assert_array_equal(clean, before)  # input untouched


def test_result_does_not_depend_on_opencv_threads(kodak_images):
    clean = center_crop(kodak_images[2], 256, 256)
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        single = [degrade(clean, "realesrgan", rng_for_sample(f"t{i}", 0))[0].tobytes() for i in range(4)]
    finally:
        cv2.setNumThreads(threads)
    cv2.setNumThreads(max(2, threads))
    try:
        multi = [degrade(clean, "realesrgan", rng_for_sample(f"t{i}", 0))[0].tobytes() for i in range(4)]
    finally:
        cv2.setNumThreads(threads)
    assert single == multi


# --- output shape and record ---------------------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("scale, height, width", [(4, 128, 96), (2, 64, 80), (4, 4, 8)])
def test_output_size_and_dtype(kodak_images, preset, scale, height, width):
    clean = center_crop(kodak_images[0], height, width)
    for i in range(5):
        out, params = degrade(clean, preset, rng_for_sample(f"s{i}", 1), scale=scale)
        assert out.dtype == np.uint8 and out.shape == (height // scale, width // scale, 3)
        assert params["scale"] == scale and params["preset"] == preset


def test_default_scale_is_the_presets(kodak_images):
    out, params = degrade(center_crop(kodak_images[0], 64, 64), PRESETS["s3diff"], rng_for_sample("a", 0))
    assert out.shape == (16, 16, 3) and params["scale"] == 4 == PRESETS["s3diff"].scale


def _assert_plain_json(value):
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            _assert_plain_json(item)
    elif isinstance(value, list):
        for item in value:
            _assert_plain_json(item)
    else:
        assert value is None or type(value) in (str, int, float, bool), f"{value!r} is {type(value)}"


def test_params_are_plain_json_with_fixed_keys(many_draws):
    for records in many_draws.values():
        for params in records[:50]:
            assert tuple(params) == PARAM_KEYS
            _assert_plain_json(params)
            assert json.loads(json.dumps(params)) == params


# --- sampled parameters --------------------------------------------------------------------------


def _check_kernel_record(params: dict, prefix: str, stage) -> None:
    kernel = {key: params[f"{prefix}_{key}"] for key in KERNEL_KEYS}
    size = kernel["kernel_size"]
    assert size % 2 == 1 and 7 <= size <= stage.kernel_size
    if kernel["kernel_type"] == "sinc":
        low = math.pi / 3 if size < 13 else math.pi / 5
        assert low <= kernel["omega_c"] <= math.pi
        assert kernel["sigma_x"] is None and kernel["beta"] is None
        return
    assert kernel["kernel_type"] in dk.KERNEL_TYPES and kernel["omega_c"] is None
    for sigma in (kernel["sigma_x"], kernel["sigma_y"]):
        assert stage.sigma_range[0] <= sigma <= stage.sigma_range[1]
    if kernel["kernel_type"] in dk.ISOTROPIC_TYPES:
        assert kernel["sigma_x"] == kernel["sigma_y"] and kernel["angle"] == 0.0
    else:
        assert -math.pi <= kernel["angle"] <= math.pi
    if kernel["kernel_type"].startswith("generalized"):
        assert stage.betag_range[0] <= kernel["beta"] <= stage.betag_range[1]
    elif kernel["kernel_type"].startswith("plateau"):
        assert stage.betap_range[0] <= kernel["beta"] <= stage.betap_range[1]
    else:
        assert kernel["beta"] is None


def _check_resize_noise_jpeg(params: dict, order: int, stage, base: tuple[int, int] | None) -> None:
    direction, factor = params[f"resize{order}_direction"], params[f"resize{order}_factor"]
    low, high = stage.resize_range
    assert {"up": 1.0 <= factor <= high, "down": low <= factor <= 1.0, "keep": factor == 1.0}[direction]
    assert params[f"resize{order}_mode"] in ("area", "bilinear", "bicubic")
    if base is not None:
        assert params[f"resize{order}_height"] == max(1, int(base[0] * factor))
        assert params[f"resize{order}_width"] == max(1, int(base[1] * factor))
    if params[f"noise{order}_type"] == "gaussian":
        assert stage.noise_range[0] <= params[f"noise{order}_sigma"] <= stage.noise_range[1]
        assert params[f"noise{order}_poisson_scale"] is None
    else:
        assert params[f"noise{order}_type"] == "poisson" and params[f"noise{order}_sigma"] is None
        scale_range = stage.poisson_scale_range
        assert scale_range[0] <= params[f"noise{order}_poisson_scale"] <= scale_range[1]
    quality = params[f"jpeg{order}_quality"]
    assert type(quality) is int and stage.jpeg_range[0] <= quality <= stage.jpeg_range[1]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_parameters_stay_inside_preset_ranges(many_draws, name):
    preset = PRESETS[name]
    for params in many_draws[name]:
        if params["no_degradation"]:
            assert all(params[key] is None for key in PARAM_KEYS if key.startswith(("blur1", "noise1", "jpeg")))
            continue
        _check_kernel_record(params, "blur1", preset.stage1)
        _check_resize_noise_jpeg(params, 1, preset.stage1, None)
        assert params["resize1_height"] == max(1, int(64 * params["resize1_factor"]))
        if params["blur2_applied"]:
            _check_kernel_record(params, "blur2", preset.stage2)
        else:
            assert all(params[f"blur2_{key}"] is None for key in KERNEL_KEYS)
        _check_resize_noise_jpeg(params, 2, preset.stage2, (16, 16))
        assert params["final_order"] in ("sinc_then_jpeg", "jpeg_then_sinc")
        assert params["final_resize_mode"] in ("area", "bilinear", "bicubic")
        if params["final_sinc_applied"]:
            assert 7 <= params["final_sinc_kernel_size"] <= 21 and params["final_sinc_kernel_size"] % 2 == 1
            assert math.pi / 3 <= params["final_sinc_omega_c"] <= math.pi
        else:
            assert params["final_sinc_kernel_size"] is None and params["final_sinc_omega_c"] is None


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_branch_frequencies_match_preset(many_draws, name):
    preset = PRESETS[name]
    records = [p for p in many_draws[name] if not p["no_degradation"]]
    trials = len(records)
    assert trials >= 290
    counts = Counter()
    for p in records:
        counts.update({"blur2": p["blur2_applied"], "final_sinc": p["final_sinc_applied"],
                       "sinc_first": p["final_order"] == "sinc_then_jpeg", "gauss1": p["noise1_type"] == "gaussian",
                       "gray1": p["noise1_gray"], "gray2": p["noise2_gray"], "down1": p["resize1_direction"] == "down",
                       "up1": p["resize1_direction"] == "up", "keep2": p["resize2_direction"] == "keep",
                       "area1": p["resize1_mode"] == "area", "bicubic_final": p["final_resize_mode"] == "bicubic"})
    expected = {"blur2": preset.second_blur_prob, "final_sinc": preset.final_sinc_prob, "sinc_first": 0.5,
                "gauss1": 0.5, "gray1": 0.4, "gray2": 0.4, "down1": 0.7, "up1": 0.2, "keep2": 0.3,
                "area1": 1 / 3, "bicubic_final": 1 / 3}
    for event, prob in expected.items():
        assert within_binomial(counts[event], trials, prob), (event, counts[event], trials, prob)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_draws_cover_the_whole_range(many_draws, name):
    """Uniform draws reach both ends of each range (catches shrunken or shifted ranges)."""
    stage1, stage2 = PRESETS[name].stage1, PRESETS[name].stage2
    records = [p for p in many_draws[name] if not p["no_degradation"]]
    factors = [p["resize1_factor"] for p in records if p["resize1_direction"] == "down"]
    assert min(factors) < stage1.resize_range[0] + 0.05 and max(factors) > 0.95
    factors = [p["resize2_factor"] for p in records if p["resize2_direction"] == "up"]
    assert min(factors) < 1.03 and max(factors) > stage2.resize_range[1] - 0.03
    sigmas = [p["noise1_sigma"] for p in records if p["noise1_type"] == "gaussian"]
    assert min(sigmas) < stage1.noise_range[0] + 1.0 and max(sigmas) > stage1.noise_range[1] - 1.0
    qualities = [p["jpeg2_quality"] for p in records]
    assert min(qualities) == stage2.jpeg_range[0] and max(qualities) == stage2.jpeg_range[1]
    blur_sigmas = [p["blur1_sigma_x"] for p in records if p["blur1_sigma_x"] is not None]
    assert min(blur_sigmas) < stage1.sigma_range[0] + 0.1 and max(blur_sigmas) > stage1.sigma_range[1] - 0.1


def test_kernel_types_and_sinc_branch_frequencies():
    stage = PRESETS["realesrgan"].stage1
    rng = rng_for_sample("kernels", 0)
    draws = [dk.sample_blur_kernel(rng, stage) for _ in range(3000)]
    types = Counter(params["kernel_type"] for _, params in draws)
    assert set(types) == {*dk.KERNEL_TYPES, "sinc"}
    assert within_binomial(types["sinc"], 3000, 0.1)
    for kernel_type, prob in zip(dk.KERNEL_TYPES, dk.KERNEL_PROBS):
        assert within_binomial(types[kernel_type], 3000, 0.9 * prob), (kernel_type, types[kernel_type])
    sizes = Counter(params["kernel_size"] for _, params in draws)
    assert sorted(sizes) == list(range(7, 22, 2))
    for kernel, params in draws:
        assert kernel.shape == (params["kernel_size"],) * 2
        assert abs(kernel.sum() - 1.0) < 1e-9
    small = PRESETS["s3diff"].stage2
    assert {dk.sample_blur_kernel(rng, small)[1]["kernel_size"] for _ in range(200)} == {7, 9, 11}


# --- kernels -------------------------------------------------------------------------------------


def test_isotropic_gaussian_matches_opencv():
    ours = dk.gaussian_kernel(21, 2.3, 2.3)
    column = cv2.getGaussianKernel(21, 2.3, cv2.CV_64F)
    np.testing.assert_allclose(ours, column @ column.T, atol=1e-12)


def test_anisotropic_gaussian_covariance_and_rotation():
    sigma_x, sigma_y, angle = 2.0, 1.0, 0.6
    kernel = dk.gaussian_kernel(21, sigma_x, sigma_y, angle)
    yy, xx = np.mgrid[-10:11, -10:11]
    measured = np.array([[np.sum(kernel * xx * xx), np.sum(kernel * xx * yy)],
                         [np.sum(kernel * xx * yy), np.sum(kernel * yy * yy)]])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    np.testing.assert_allclose(measured, rotation @ np.diag([sigma_x**2, sigma_y**2]) @ rotation.T, atol=1e-3)
    np.testing.assert_allclose(dk.gaussian_kernel(21, sigma_x, sigma_y, angle + math.pi), kernel, atol=1e-12)
    np.testing.assert_allclose(dk.gaussian_kernel(21, 1.0, 2.0, 0.0), dk.gaussian_kernel(21, 2.0, 1.0, 0.0).T,
                               atol=1e-12)
    np.testing.assert_allclose(dk.gaussian_kernel(21, sigma_x, sigma_y, math.pi / 2),
                               dk.gaussian_kernel(21, sigma_y, sigma_x, 0.0), atol=1e-12)


KERNEL_BUILDERS = {
    "gaussian": lambda size, sx, sy, angle: dk.gaussian_kernel(size, sx, sy, angle),
    "generalized": lambda size, sx, sy, angle: dk.generalized_gaussian_kernel(size, sx, sy, angle, 0.7),
    "plateau": lambda size, sx, sy, angle: dk.plateau_kernel(size, sx, sy, angle, 1.6),
}


@pytest.mark.parametrize("builder", sorted(KERNEL_BUILDERS))
def test_kernels_are_normalised_and_symmetric(builder):
    build = KERNEL_BUILDERS[builder]
    iso = build(15, 1.7, 1.7, 0.0)
    aniso = build(15, 2.5, 0.8, 1.1)
    for kernel in (iso, aniso):
        assert kernel.dtype == np.float64 and abs(kernel.sum() - 1.0) < 1e-12 and kernel.min() > 0
        np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-15)  # point symmetric
        assert kernel[7, 7] == kernel.max()
    for mirrored in (iso[::-1, :], iso[:, ::-1], iso.T):
        np.testing.assert_allclose(iso, mirrored, atol=1e-15)
    assert not np.allclose(aniso, aniso.T, atol=1e-4)
    assert np.all(np.diff(iso[7, 7:]) < 0)  # decreasing away from the centre


def test_generalized_and_plateau_shapes():
    np.testing.assert_allclose(dk.generalized_gaussian_kernel(13, 1.5, 1.5, 0.0, 1.0),
                               dk.gaussian_kernel(13, 1.5, 1.5), atol=1e-15)
    flat = dk.generalized_gaussian_kernel(21, 3.0, 3.0, 0.0, 4.0)
    peaky = dk.generalized_gaussian_kernel(21, 3.0, 3.0, 0.0, 0.5)
    assert flat[10, 10] / flat[10, 12] < peaky[10, 10] / peaky[10, 12]  # larger beta = flatter top
    plateau = dk.plateau_kernel(21, 2.0, 2.0, 0.0, 1.0)
    np.testing.assert_allclose(plateau[10, 10] / plateau[10, 12], 2.0, rtol=1e-12)  # 1 / (1 + (2/2)^2)


def test_bessel_j1_known_values():
    values = dk.bessel_j1(np.array([0.0, 1.0, 3.8317059702075125, 10.0]))
    np.testing.assert_allclose(values, [0.0, 0.44005058574493355, 0.0, 0.04347274616886144], atol=1e-12)


def test_bessel_j1_matches_scipy_over_the_kernel_domain():
    special = pytest.importorskip("scipy.special", reason="scipy not installed: reference J1 unavailable")
    radii = np.linspace(0.0, math.pi * 15 * math.sqrt(2), 2001)  # beyond the largest omega_c * radius of a 21x21 kernel
    np.testing.assert_allclose(dk.bessel_j1(radii), special.j1(radii), atol=1e-13)


def test_sinc_kernel_is_a_circular_lowpass():
    kernel = dk.sinc_kernel(21, math.pi / 2)
    assert abs(kernel.sum() - 1.0) < 1e-12
    for mirrored in (kernel[::-1, :], kernel[:, ::-1], kernel.T):
        np.testing.assert_allclose(kernel, mirrored, atol=1e-15)
    response = np.abs(np.fft.fft2(kernel, (128, 128)))
    freqs = np.fft.fftfreq(128) * 2 * math.pi
    radius = np.hypot(*np.meshgrid(freqs, freqs))
    assert abs(response[0, 0] - 1.0) < 1e-12
    assert response[radius < 0.3 * math.pi].min() > 0.8
    assert response[radius > 0.7 * math.pi].max() < 0.1


@pytest.mark.parametrize("call", [
    lambda: dk.gaussian_kernel(8, 1.0, 1.0), lambda: dk.gaussian_kernel(7, 0.0, 1.0),
    lambda: dk.sinc_kernel(7, 4.0), lambda: dk.sample_kernel_size(np.random.default_rng(0), 5),
])
def test_kernel_argument_errors(call):
    with pytest.raises(ValueError):
        call()


# --- noise and JPEG ------------------------------------------------------------------------------


def test_gaussian_noise_sigma_is_on_255_scale():
    rng = rng_for_sample("noise", 0)
    color = gaussian_noise(rng, (200, 200, 3), 20.0, gray=False)
    gray = gaussian_noise(rng, (200, 200, 3), 20.0, gray=True)
    assert abs(color.std() * 255 - 20.0) < 0.5 and abs(color.mean()) < 0.002
    assert not np.allclose(color[..., 0], color[..., 1])
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    assert abs(gray.std() * 255 - 20.0) < 0.7


def test_poisson_noise_variance_follows_intensity(kodak_images):
    image = kodak_images[0].astype(np.float32) / 255.0
    noise = poisson_noise(rng_for_sample("poisson", 0), image, 2.0, gray=False)
    levels = 2.0 ** math.ceil(math.log2(len(np.unique(kodak_images[0]))))
    assert abs(noise.mean()) < 1e-3
    np.testing.assert_allclose(noise.var(), 4.0 * image.mean() / levels, rtol=0.05)
    gray = poisson_noise(rng_for_sample("poisson", 0), image, 1.0, gray=True)
    np.testing.assert_array_equal(gray[..., 0], gray[..., 1])


def test_add_noise_clips_to_unit_range():
    bright = np.full((32, 32, 3), 0.99, np.float32)
    noisy, params = add_noise(bright, rng_for_sample("clip", 3), PRESETS["realesrgan"].stage1)
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0 and params["type"] in ("gaussian", "poisson")


def test_jpeg_quality_controls_loss(kodak_images):
    clean = center_crop(kodak_images[3], 128, 128)
    image = clean.astype(np.float32) / 255.0
    high, low = jpeg_compress(image, 95), jpeg_compress(image, 30)
    assert high.dtype == np.float32 and high.shape == image.shape
    assert psnr(np.rint(high * 255), clean) > psnr(np.rint(low * 255), clean) + 3
    assert psnr(np.rint(high * 255), clean) > 35


# --- presets, no-degradation, errors -------------------------------------------------------------


# DESIGN.md "Degradation presets" table, column by column: (stage 1, stage 2).
DESIGN_TABLE = {
    "realesrgan": {"kernel_size": (21, 21), "sigma_range": ((0.2, 3), (0.2, 1.5)), "betag_range": ((0.5, 4), (0.5, 4)),
                   "betap_range": ((1, 2), (1, 2)), "resize_range": ((0.15, 1.5), (0.3, 1.2)),
                   "noise_range": ((1, 30), (1, 25)), "poisson_scale_range": ((0.05, 3), (0.05, 2.5)),
                   "jpeg_range": ((30, 95), (30, 95)), "second_blur_prob": 0.8, "no_degradation_prob": 0.0},
    "s3diff": {"kernel_size": (21, 11), "sigma_range": ((0.2, 1.5), (0.2, 1.0)), "betag_range": ((0.5, 2), (0.5, 2)),
               "betap_range": ((1, 1.5), (1, 1.5)), "resize_range": ((0.3, 1.5), (0.6, 1.2)),
               "noise_range": ((1, 15), (1, 12)), "poisson_scale_range": ((0.05, 2), (0.05, 1)),
               "jpeg_range": ((60, 95), (60, 100)), "second_blur_prob": 0.5, "no_degradation_prob": 0.01},
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
def test_record_replays_the_pipeline_in_order(kodak_images, name):
    """With zero-strength noise the record alone must rebuild the output bit for bit."""
    silent = {"gaussian_noise_prob": 1.0, "noise_range": (0.0, 0.0)}
    preset = PRESETS[name]
    quiet = dataclasses.replace(preset, stage1=dataclasses.replace(preset.stage1, **silent),
                                stage2=dataclasses.replace(preset.stage2, **silent))
    clean = center_crop(kodak_images[2], 96, 128)
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
    expected = sum(kernel[dy, dx] * padded[dy:dy + 9, dx:dx + 11] for dy in range(7) for dx in range(7))
    np.testing.assert_allclose(apply_blur(image, kernel), expected, atol=1e-5)


def test_no_degradation_is_a_clean_area_downscale(kodak_images):
    clean = center_crop(kodak_images[0], 64, 64)
    always = dataclasses.replace(PRESETS["s3diff"], no_degradation_prob=1.0)
    out, params = degrade(clean, always, rng_for_sample("clean", 0))
    expected = cv2.resize(clean.astype(np.float32) / 255.0, (16, 16), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(out, np.clip(np.rint(expected * 255), 0, 255).astype(np.uint8))
    assert params["no_degradation"] is True and params["blur1_kernel_type"] is None
    assert isinstance(always, DegradationPreset)


def test_s3diff_is_milder_than_realesrgan(kodak_images):
    differences = []
    for i in range(30):
        clean = center_crop(kodak_images[i % len(kodak_images)], 256, 256)
        scores = {}
        for name in PRESETS:
            out, _ = degrade(clean, name, rng_for_sample(f"mild-{i}", 5))
            scores[name] = psnr(cv2.resize(out, (256, 256), interpolation=cv2.INTER_CUBIC), clean)
        differences.append(scores["s3diff"] - scores["realesrgan"])
    assert np.mean(differences) > 0.5, np.mean(differences)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((64, 64, 3), np.float32), "uint8"),
    (np.zeros((64, 64), np.uint8), "HxWx3"),
    (np.zeros((64, 64, 4), np.uint8), "HxWx3"),
    (np.zeros((62, 64, 3), np.uint8), "multiple of scale 4"),
    (np.zeros((0, 64, 3), np.uint8), "multiple of scale"),
    ([[0, 0, 0]], "numpy array"),
])
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
