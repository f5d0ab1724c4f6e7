"""SR models, simulators and post-processors as plug-ins: plain callables on RGB uint8 numpy pictures.

An SR model is called ``model(image, codec, bpp) -> sr`` and has a `name` and an `input_scale`:
1 = it gets the degraded input upsampled (bicubic) to the output size (S3Diff-style), s = it gets the degraded
input itself and must upscale it s times (RRDBNet-style). (codec, bpp) is the condition c: the codec of the
recompression and the target bpp (QP mode: R̄ / pixels; CRF mode: the measured bpp of the degraded input).

A spec string names one: ``identity``, ``bicubic``, ``nearest``, ``NAME:ARGUMENT`` for a factory in
MODEL_FACTORIES (`vrpsr eval` registers ``checkpoint`` there: training.inference's loaders, used as
``checkpoint:/runs/sr/checkpoints/step-0010000``; this package never imports training itself), or ``py:package.module:attribute`` for any importable
object or zero-argument factory. Simulators (``simulator(image, codec, bpp) -> simulated decoded picture``)
and post-processors (``post(decoded, codec, bpp) -> picture``) use the same spec rules with their own dicts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from evaluation.errors import EvaluationError

PictureFunction = Callable[[np.ndarray, str, float], np.ndarray]


@dataclass(frozen=True)
class Identity:
    """A scale-1 model that returns its input: the bicubically upsampled degraded image, unchanged."""

    name: str = "identity"
    input_scale: int = 1

    def __call__(self, image: np.ndarray, codec: str, bpp: float) -> np.ndarray:
        return image.copy()


@dataclass(frozen=True)
class Interpolation:
    """A scale-s model that resizes its input s times with OpenCV (bicubic = INTER_CUBIC, as the factory)."""

    name: str
    input_scale: int
    mode: int

    def __call__(self, image: np.ndarray, codec: str, bpp: float) -> np.ndarray:
        height, width = image.shape[:2]
        return cv2.resize(image, (width * self.input_scale, height * self.input_scale), interpolation=self.mode)


@dataclass(frozen=True)
class CallableModel:
    """Wraps any function (image, codec, bpp) -> image as a model."""

    function: PictureFunction
    name: str
    input_scale: int = 1

    def __call__(self, image: np.ndarray, codec: str, bpp: float) -> np.ndarray:
        return self.function(image, codec, bpp)


def import_object(path: str) -> object:
    """``package.module:attribute`` -> the attribute (a zero-argument class or factory is called once)."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"plug-in {path!r}: expected 'py:package.module:attribute'")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"plug-in {path!r} cannot be imported: {error}") from error
    return found() if isinstance(found, type) else found


def _python_model(argument: str, scale: int) -> object:
    found = import_object(argument)
    if not hasattr(found, "input_scale"):
        found = CallableModel(found, name=argument.rpartition(":")[2])  # type: ignore[arg-type]
    return found


# name -> factory(argument or None, scale of the protocol) -> model. Add loaders here (one line each).
MODEL_FACTORIES: dict[str, Callable[[str | None, int], object]] = {
    "identity": lambda argument, scale: Identity(),
    "bicubic": lambda argument, scale: Interpolation("bicubic", scale, cv2.INTER_CUBIC),
    "nearest": lambda argument, scale: Interpolation("nearest", scale, cv2.INTER_NEAREST),
    "py": lambda argument, scale: _python_model(argument or "", scale),
}
# name -> factory(argument or None) -> simulator / post-processor.
SIMULATOR_FACTORIES: dict[str, Callable[[str | None], PictureFunction]] = {
    "py": lambda argument: import_object(argument or ""),  # type: ignore[dict-item]
}
POST_FACTORIES: dict[str, Callable[[str | None], PictureFunction]] = {
    "py": lambda argument: import_object(argument or ""),  # type: ignore[dict-item]
}


def _split(spec: str, factories: dict, kind: str) -> tuple[Callable, str | None]:
    name, separator, argument = spec.partition(":")
    if name not in factories:
        raise ValueError(
            f"unknown {kind} {spec!r}; known: {', '.join(factories)} (or NAME:ARGUMENT, py:module:attribute)"
        )
    return factories[name], (argument if separator else None)


def resolve_model(spec: str, scale: int) -> object:
    factory, argument = _split(spec, MODEL_FACTORIES, "model")
    model = factory(argument, scale)
    if getattr(model, "input_scale", None) not in (1, scale):
        raise ValueError(
            f"model {spec!r}: input_scale {getattr(model, 'input_scale', None)!r} is neither 1 nor {scale}"
        )
    return model


def resolve_simulator(spec: str) -> PictureFunction:
    factory, argument = _split(spec, SIMULATOR_FACTORIES, "simulator")
    return factory(argument)


def resolve_post(spec: str) -> PictureFunction:
    factory, argument = _split(spec, POST_FACTORIES, "post-processor")
    return factory(argument)


def checked_picture(picture: object, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A plug-in's output must be an RGB uint8 picture of the target's shape."""
    if not isinstance(picture, np.ndarray) or picture.dtype != np.uint8 or picture.shape != shape:
        got = f"{picture.dtype} {picture.shape}" if isinstance(picture, np.ndarray) else type(picture).__name__
        raise EvaluationError(f"{what} returned {got}, expected uint8 {shape}")
    return np.ascontiguousarray(picture)
