"""pipeline.degrade: seeding, determinism, the parameter record and the sampled parameters."""

from __future__ import annotations

import json
import math
from collections import Counter

import cv2
import numpy as np
import pytest

from pipeline import degrade_kernels as dk
from pipeline.degrade import PARAM_KEYS, PRESETS, degrade, rng_for_sample
from tests.pipeline.degrade.helpers import KERNEL_KEYS, center_crop, within_binomial

# --- seeding and determinism -------------------------------------------------------------------


def test_rng_for_sample_depends_on_key_and_seed_only():
    draws = lambda key, seed: rng_for_sample(key, seed).integers(0, 2**62, size=4).tolist()  # noqa: E731
    assert draws("img-1", 3) == draws("img-1", 3)
    assert draws("img-1", 3) != draws("img-1", 4)
    assert draws("img-1", 3) != draws("img-2", 3)
    assert draws("1:a", 2) != draws("a", 21)  # the separator keeps fields apart


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_same_key_and_seed_give_identical_bytes(photos, preset):
    clean = center_crop(photos[1], 128, 96)
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


def test_result_does_not_depend_on_opencv_threads(photos):
    clean = center_crop(photos[2], 256, 256)
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
def test_output_size_and_dtype(photos, preset, scale, height, width):
    clean = center_crop(photos[0], height, width)
    for i in range(5):
        out, params = degrade(clean, preset, rng_for_sample(f"s{i}", 1), scale=scale)
        assert out.dtype == np.uint8 and out.shape == (height // scale, width // scale, 3)
        assert params["scale"] == scale and params["preset"] == preset


def test_default_scale_is_the_presets(photos):
    out, params = degrade(center_crop(photos[0], 64, 64), PRESETS["s3diff"], rng_for_sample("a", 0))
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
        counts.update(
            {
                "blur2": p["blur2_applied"],
                "final_sinc": p["final_sinc_applied"],
                "sinc_first": p["final_order"] == "sinc_then_jpeg",
                "gauss1": p["noise1_type"] == "gaussian",
                "gray1": p["noise1_gray"],
                "gray2": p["noise2_gray"],
                "down1": p["resize1_direction"] == "down",
                "up1": p["resize1_direction"] == "up",
                "keep2": p["resize2_direction"] == "keep",
                "area1": p["resize1_mode"] == "area",
                "bicubic_final": p["final_resize_mode"] == "bicubic",
            }
        )
    expected = {
        "blur2": preset.second_blur_prob,
        "final_sinc": preset.final_sinc_prob,
        "sinc_first": 0.5,
        "gauss1": 0.5,
        "gray1": 0.4,
        "gray2": 0.4,
        "down1": 0.7,
        "up1": 0.2,
        "keep2": 0.3,
        "area1": 1 / 3,
        "bicubic_final": 1 / 3,
    }
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
