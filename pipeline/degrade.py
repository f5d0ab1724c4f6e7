"""Real-ESRGAN second-order degradation on numpy + OpenCV, seeded per sample.

Every random draw comes from the ``numpy.random.Generator`` passed in, and every
drawn parameter is returned in a flat, JSON-ready dict (None where a branch did
not run), so any low-quality image can be rebuilt from its record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math

import cv2
import numpy as np

from pipeline.degrade_kernels import KERNEL_PROBS, KERNEL_TYPES, sample_blur_kernel, sample_kernel_size, sinc_kernel

RESIZE_DIRECTIONS = ("up", "down", "keep")
RESIZE_MODES = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}
FINAL_ORDERS = ("sinc_then_jpeg", "jpeg_then_sinc")
_KERNEL_KEYS = ("kernel_type", "kernel_size", "sigma_x", "sigma_y", "angle", "beta", "omega_c")
_RESIZE_KEYS = ("direction", "factor", "mode", "height", "width")
_NOISE_KEYS = ("type", "gray", "sigma", "poisson_scale")


def _prefixed(prefix: str, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}_{name}" for name in names)


# Every record holds exactly these keys; None where a branch did not run.
PARAM_KEYS: tuple[str, ...] = (
    "preset",
    "scale",
    "no_degradation",
    *_prefixed("blur1", _KERNEL_KEYS),
    *_prefixed("resize1", _RESIZE_KEYS),
    *_prefixed("noise1", _NOISE_KEYS),
    "jpeg1_quality",
    "blur2_applied",
    *_prefixed("blur2", _KERNEL_KEYS),
    *_prefixed("resize2", _RESIZE_KEYS),
    *_prefixed("noise2", _NOISE_KEYS),
    "jpeg2_quality",
    "final_order",
    "final_resize_mode",
    "final_sinc_applied",
    "final_sinc_kernel_size",
    "final_sinc_omega_c",
)


@dataclasses.dataclass(frozen=True)
class DegradationStage:
    """Ranges of one order of the degradation."""

    kernel_size: int  # largest odd blur size; sizes are drawn from 7..kernel_size
    sigma_range: tuple[float, float]
    betag_range: tuple[float, float]
    betap_range: tuple[float, float]
    resize_probs: tuple[float, float, float]  # up, down, keep
    resize_range: tuple[float, float]
    noise_range: tuple[float, float]  # Gaussian sigma on the 0-255 scale
    poisson_scale_range: tuple[float, float]
    jpeg_range: tuple[int, int]
    sinc_prob: float = 0.1
    gaussian_noise_prob: float = 0.5
    gray_noise_prob: float = 0.4
    kernel_types: tuple[str, ...] = KERNEL_TYPES
    kernel_probs: tuple[float, ...] = KERNEL_PROBS


@dataclasses.dataclass(frozen=True)
class DegradationPreset:
    """Both stages plus the final sinc, the second-blur and no-degradation probabilities."""

    name: str
    stage1: DegradationStage
    stage2: DegradationStage
    second_blur_prob: float
    no_degradation_prob: float
    final_sinc_prob: float = 0.8
    final_sinc_kernel_size: int = 21
    scale: int = 4


PRESETS: dict[str, DegradationPreset] = {
    "realesrgan": DegradationPreset(
        name="realesrgan",
        stage1=DegradationStage(
            kernel_size=21,
            sigma_range=(0.2, 3.0),
            betag_range=(0.5, 4.0),
            betap_range=(1.0, 2.0),
            resize_probs=(0.2, 0.7, 0.1),
            resize_range=(0.15, 1.5),
            noise_range=(1.0, 30.0),
            poisson_scale_range=(0.05, 3.0),
            jpeg_range=(30, 95),
        ),
        stage2=DegradationStage(
            kernel_size=21,
            sigma_range=(0.2, 1.5),
            betag_range=(0.5, 4.0),
            betap_range=(1.0, 2.0),
            resize_probs=(0.3, 0.4, 0.3),
            resize_range=(0.3, 1.2),
            noise_range=(1.0, 25.0),
            poisson_scale_range=(0.05, 2.5),
            jpeg_range=(30, 95),
        ),
        second_blur_prob=0.8,
        no_degradation_prob=0.0,
    ),
    "s3diff": DegradationPreset(
        name="s3diff",
        stage1=DegradationStage(
            kernel_size=21,
            sigma_range=(0.2, 1.5),
            betag_range=(0.5, 2.0),
            betap_range=(1.0, 1.5),
            resize_probs=(0.2, 0.7, 0.1),
            resize_range=(0.3, 1.5),
            noise_range=(1.0, 15.0),
            poisson_scale_range=(0.05, 2.0),
            jpeg_range=(60, 95),
        ),
        stage2=DegradationStage(
            kernel_size=11,
            sigma_range=(0.2, 1.0),
            betag_range=(0.5, 2.0),
            betap_range=(1.0, 1.5),
            resize_probs=(0.3, 0.4, 0.3),
            resize_range=(0.6, 1.2),
            noise_range=(1.0, 12.0),
            poisson_scale_range=(0.05, 1.0),
            jpeg_range=(60, 100),
        ),
        second_blur_prob=0.5,
        no_degradation_prob=0.01,
    ),
}


def rng_for_sample(key: str, seed: int) -> np.random.Generator:
    """Generator seeded from sha256 of ``f"{seed}:{key}"``; same key and seed, same draws."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


def apply_blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate with ``kernel`` using reflect-101 borders (torch 'reflect' padding)."""
    return cv2.filter2D(image, -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)


def resize(image: np.ndarray, height: int, width: int, mode: str) -> np.ndarray:
    """Resize float HxWx3 to (height, width) with one of RESIZE_MODES."""
    resized = cv2.resize(image, (width, height), interpolation=RESIZE_MODES[mode])
    return resized.reshape(height, width, image.shape[2])


def sample_resize_mode(rng: np.random.Generator) -> str:
    """Area, bilinear or bicubic, uniformly."""
    return list(RESIZE_MODES)[int(rng.integers(len(RESIZE_MODES)))]


def random_resize(
    image: np.ndarray, rng: np.random.Generator, stage: DegradationStage, base_height: int, base_width: int
) -> tuple[np.ndarray, dict]:
    """Draw up/down/keep, a factor and a mode; resize to ``int(base * factor)`` (at least 1 pixel)."""
    probs = np.asarray(stage.resize_probs, dtype=np.float64)
    direction = RESIZE_DIRECTIONS[int(rng.choice(len(probs), p=probs / probs.sum()))]
    factor = 1.0
    if direction != "keep":
        low, high = (1.0, stage.resize_range[1]) if direction == "up" else (stage.resize_range[0], 1.0)
        factor = float(rng.uniform(low, high))
    mode = sample_resize_mode(rng)
    height, width = max(1, int(base_height * factor)), max(1, int(base_width * factor))
    params = {"direction": direction, "factor": factor, "mode": mode, "height": height, "width": width}
    return resize(image, height, width, mode), params


def gaussian_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float, gray: bool) -> np.ndarray:
    """Zero-mean noise, ``sigma`` on the 0-255 scale; gray noise is equal in all channels."""
    height, width, channels = shape
    noise = rng.standard_normal((height, width, 1 if gray else channels), dtype=np.float32)
    return np.broadcast_to(noise * np.float32(sigma / 255.0), shape)


def poisson_noise(rng: np.random.Generator, image: np.ndarray, scale: float, gray: bool) -> np.ndarray:
    """Shot noise: counts on the image's distinct 8-bit levels (next power of two), times ``scale``."""
    source = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None] if gray else image
    quantised = np.clip(np.rint(source * 255.0), 0, 255) / 255.0
    levels = 2.0 ** math.ceil(math.log2(len(np.unique(quantised))))
    noise = rng.poisson(quantised * levels) / levels - quantised
    return np.broadcast_to((noise * scale).astype(np.float32), image.shape)


def add_noise(image: np.ndarray, rng: np.random.Generator, stage: DegradationStage) -> tuple[np.ndarray, dict]:
    """Gaussian (prob gaussian_noise_prob) or Poisson noise, gray with prob gray_noise_prob; clipped."""
    gaussian = bool(rng.uniform() < stage.gaussian_noise_prob)
    strength = float(rng.uniform(*(stage.noise_range if gaussian else stage.poisson_scale_range)))
    gray = bool(rng.uniform() < stage.gray_noise_prob)
    if gaussian:
        noise = gaussian_noise(rng, image.shape, strength, gray)
    else:
        noise = poisson_noise(rng, image, strength, gray)
    params = {
        "type": "gaussian" if gaussian else "poisson",
        "gray": gray,
        "sigma": strength if gaussian else None,
        "poisson_scale": None if gaussian else strength,
    }
    return np.clip(image + noise, 0.0, 1.0), params


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] to rounded, clipped uint8."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def jpeg_compress(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip float RGB through OpenCV's JPEG at ``quality`` (BGR order for the codec)."""
    bgr = cv2.cvtColor(to_uint8(image), cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for an image of shape {image.shape} at quality {quality}")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB).astype(np.float32) / np.float32(255.0)


def sample_jpeg_quality(rng: np.random.Generator, stage: DegradationStage) -> int:
    """Integer quality in the closed jpeg_range."""
    return int(rng.integers(stage.jpeg_range[0], stage.jpeg_range[1], endpoint=True))


def _store(record: dict, prefix: str, params: dict) -> None:
    record.update({f"{prefix}_{name}": value for name, value in params.items()})


def _check_input(clean: np.ndarray, scale: int) -> None:
    if not isinstance(clean, np.ndarray):
        raise ValueError(f"clean must be a numpy array, got {type(clean).__name__}")
    if clean.dtype != np.uint8:
        raise ValueError(f"clean must be uint8, got dtype {clean.dtype}")
    if clean.ndim != 3 or clean.shape[2] != 3:
        raise ValueError(f"clean must be an RGB array of shape HxWx3, got shape {clean.shape}")
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    height, width = clean.shape[:2]
    if height == 0 or width == 0 or height % scale or width % scale:
        raise ValueError(f"clean size {height}x{width} is not a non-zero multiple of scale {scale}")


def _resolve_preset(preset: DegradationPreset | str) -> DegradationPreset:
    if isinstance(preset, DegradationPreset):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"unknown degradation preset {preset!r}; known presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[preset]


def first_order(image: np.ndarray, rng: np.random.Generator, stage: DegradationStage, record: dict) -> np.ndarray:
    """Blur, random resize (relative to the current size), noise, JPEG."""
    kernel, blur = sample_blur_kernel(rng, stage)
    image = apply_blur(image, kernel)
    image, resized = random_resize(image, rng, stage, image.shape[0], image.shape[1])
    image, noise = add_noise(image, rng, stage)
    record["jpeg1_quality"] = sample_jpeg_quality(rng, stage)
    _store(record, "blur1", blur)
    _store(record, "resize1", resized)
    _store(record, "noise1", noise)
    return jpeg_compress(image, record["jpeg1_quality"])


def second_order(
    image: np.ndarray, rng: np.random.Generator, preset: DegradationPreset, out_size: tuple[int, int], record: dict
) -> np.ndarray:
    """Optional blur, resize relative to the output size, noise (JPEG comes in final_stage)."""
    record["blur2_applied"] = bool(rng.uniform() < preset.second_blur_prob)
    if record["blur2_applied"]:
        kernel, blur = sample_blur_kernel(rng, preset.stage2)
        image = apply_blur(image, kernel)
        _store(record, "blur2", blur)
    image, resized = random_resize(image, rng, preset.stage2, *out_size)
    image, noise = add_noise(image, rng, preset.stage2)
    _store(record, "resize2", resized)
    _store(record, "noise2", noise)
    return image


def final_stage(
    image: np.ndarray, rng: np.random.Generator, preset: DegradationPreset, out_size: tuple[int, int], record: dict
) -> np.ndarray:
    """[resize to output + optional sinc] and JPEG, in a random order."""
    record["final_sinc_applied"] = bool(rng.uniform() < preset.final_sinc_prob)
    if record["final_sinc_applied"]:
        record["final_sinc_kernel_size"] = sample_kernel_size(rng, preset.final_sinc_kernel_size)
        record["final_sinc_omega_c"] = float(rng.uniform(math.pi / 3, math.pi))
    record["final_order"] = FINAL_ORDERS[int(rng.integers(len(FINAL_ORDERS)))]
    record["final_resize_mode"] = sample_resize_mode(rng)
    record["jpeg2_quality"] = sample_jpeg_quality(rng, preset.stage2)
    if record["final_order"] == "jpeg_then_sinc":
        image = jpeg_compress(image, record["jpeg2_quality"])
    image = resize(image, *out_size, record["final_resize_mode"])
    if record["final_sinc_applied"]:
        image = apply_blur(image, sinc_kernel(record["final_sinc_kernel_size"], record["final_sinc_omega_c"]))
    if record["final_order"] == "sinc_then_jpeg":
        image = jpeg_compress(image, record["jpeg2_quality"])
    return image


def degrade(
    clean: np.ndarray, preset: DegradationPreset | str, rng: np.random.Generator, scale: int | None = None
) -> tuple[np.ndarray, dict]:
    """Degrade RGB uint8 ``clean`` to (H/scale, W/scale, 3) uint8; returns it and the record (keys PARAM_KEYS)."""
    preset = _resolve_preset(preset)
    scale = preset.scale if scale is None else scale
    _check_input(clean, scale)
    out_size = (clean.shape[0] // scale, clean.shape[1] // scale)
    record = dict.fromkeys(PARAM_KEYS)
    record.update(preset=preset.name, scale=int(scale), blur2_applied=False, final_sinc_applied=False)
    image = clean.astype(np.float32) / np.float32(255.0)
    record["no_degradation"] = bool(rng.uniform() < preset.no_degradation_prob)
    if record["no_degradation"]:
        record["final_resize_mode"] = "area"
        return to_uint8(resize(image, *out_size, "area")), record
    image = first_order(image, rng, preset.stage1, record)
    image = second_order(image, rng, preset, out_size, record)
    image = final_stage(image, rng, preset, out_size, record)
    return to_uint8(image), record
