"""Checks on what callers hand to encode(): each failure names the problem and how to fix it."""

from __future__ import annotations

import numbers

import numpy as np

from codec_bindings.errors import CodecInputError


def as_rgb_uint8(image: object) -> np.ndarray:
    """Return ``image`` as a contiguous RGB uint8 HxWx3 array (grayscale HxW or HxWx1 is expanded)."""
    if not isinstance(image, np.ndarray):
        raise CodecInputError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        hint = (
            " (float input: convert with np.clip(x * 255, 0, 255).round().astype(np.uint8))"
            if image.dtype.kind == "f"
            else ""
        )
        raise CodecInputError(f"image dtype must be uint8, got {image.dtype}{hint}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        hint = " (drop the alpha channel first)" if image.ndim == 3 and image.shape[2] == 4 else ""
        raise CodecInputError(f"image must be HxW or HxWx3, got shape {image.shape}{hint}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise CodecInputError(f"image is empty: shape {image.shape}")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)


def check_rate(codec_name: str, max_qp: int, supports_crf: bool, qp: object, crf: object) -> None:
    if (qp is None) == (crf is None):
        raise CodecInputError(f"{codec_name}: give exactly one of qp or crf (got qp={qp!r}, crf={crf!r})")
    if qp is not None:
        if isinstance(qp, bool) or not isinstance(qp, numbers.Integral):
            raise CodecInputError(f"{codec_name}: qp must be an integer, got {qp!r}")
        if not 0 <= qp <= max_qp:
            raise CodecInputError(f"{codec_name}: qp {qp} out of range 0..{max_qp}")
    if crf is not None:
        if not supports_crf:
            raise CodecInputError(f"{codec_name}: CRF is not supported (constant QP only)")
        if isinstance(crf, bool) or not isinstance(crf, numbers.Real) or not 0 <= crf <= 51:
            raise CodecInputError(f"{codec_name}: crf must be a number in 0..51, got {crf!r}")


def check_preset(codec_name: str, preset: str, presets: tuple[str, ...]) -> None:
    if preset not in presets:
        raise CodecInputError(f"{codec_name}: unknown preset {preset!r}; known: {', '.join(presets)}")


def check_threads(threads: object) -> None:
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise CodecInputError(f"threads must be an integer >= 1, got {threads!r}")


def check_rate_value(spec, qp: object, crf: object, quality: object) -> None:
    """Exactly one rate, of the kind ``spec`` (a Codec) is rated by, within its range."""
    if spec.rate_parameter == "quality":
        if qp is not None or crf is not None:
            raise CodecInputError(f"{spec.name}: rated by quality (give quality=, not qp/crf)")
        low, high = spec.rate_range
        if isinstance(quality, bool) or not isinstance(quality, numbers.Integral) or not low <= quality <= high:
            raise CodecInputError(f"{spec.name}: quality must be an integer in {low}..{high}, got {quality!r}")
        return
    if quality is not None:
        raise CodecInputError(f"{spec.name}: rated by QP (give qp=, not quality=)")
    low, high = spec.rate_range
    if isinstance(qp, numbers.Integral) and not isinstance(qp, bool) and not low <= qp <= high:
        raise CodecInputError(f"{spec.name}: qp {qp} out of range {low}..{high}")
    check_rate(spec.name, spec.max_qp, spec.supports_crf, qp, crf)
