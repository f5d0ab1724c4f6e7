"""Finding and loading our safetensors weights: a checkpoint folder or a file, whole or by name prefix."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file
from torch import nn

from training.checkpoint import load_model_weights

MODEL_WEIGHTS = "model.safetensors"


def weights_file(path: str | Path) -> Path:
    """A checkpoint folder -> its model.safetensors; a file -> itself; FileNotFoundError naming the path."""
    path = Path(path).expanduser()
    file = path / MODEL_WEIGHTS if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(
            f"no weights at {file} (give a checkpoint folder holding {MODEL_WEIGHTS} or a .safetensors file)"
        )
    return file


def load_prefixed_weights(module: nn.Module, path: str | Path, prefix: str, kind: str, role: str) -> None:
    """Load ``module`` from the ``prefix``* entries of a checkpoint's weights (e.g. g_phi from an SR system)."""
    file = weights_file(path)
    state = {name[len(prefix) :]: value for name, value in load_file(str(file)).items() if name.startswith(prefix)}
    if not state:
        raise ValueError(f"{file} holds no {prefix}* weights (not {kind})")
    try:
        load_model_weights(module, state)
    except (KeyError, RuntimeError, ValueError) as error:
        expected = module.trainable_state_dict() if hasattr(module, "trainable_state_dict") else module.state_dict()
        detail = first_mismatch(expected, state) or str(error).splitlines()[0]
        raise ValueError(f"{file} does not fit the {role}: first mismatching key {detail}") from None


def first_mismatch(expected: dict, found: dict) -> str | None:
    """The first key (in the module's order) that is missing or of another shape, else the first unexpected one."""
    for name, value in expected.items():
        if name not in found:
            return f"{name} (missing from the file)"
        if tuple(found[name].shape) != tuple(value.shape):
            return f"{name} (shape {tuple(found[name].shape)} in the file, {tuple(value.shape)} in the model)"
    return next((f"{name} (not in the model)" for name in found if name not in expected), None)
