"""The weights a module's checkpoints hold, saved and loaded by name: every parameter with requires_grad,
plus the frozen tensors a submodule declares in its ``saved_frozen`` (name prefixes within it) because no
pretrained file provides them (S3Diff's degradation estimator and Fourier basis).

Shared by the models that checkpoint only what training changes (the LoRA simulator, the SR system).
"""

from __future__ import annotations

import torch
from torch import nn


def saved_frozen_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """The frozen tensors the submodules of `module` declare as part of their weights (``saved_frozen``)."""
    state: dict[str, torch.Tensor] = {}
    for prefix, submodule in module.named_modules():
        declared = tuple(getattr(submodule, "saved_frozen", ()))
        if declared:
            state.update(
                {
                    f"{prefix}.{name}" if prefix else name: tensor.detach().contiguous()
                    for name, tensor in submodule.state_dict().items()
                    if name.startswith(declared)
                }
            )
    return state


def trainable_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter with requires_grad, and the declared frozen tensors, keyed by name."""
    state = {name: p.detach().contiguous() for name, p in module.named_parameters() if p.requires_grad}
    state.update(saved_frozen_state(module))
    return state


def load_trainable_state_dict(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a `trainable_state_dict`; the key sets must match exactly."""
    expected = set(trainable_state_dict(module))
    if set(state) != expected:
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        raise KeyError(f"trainable weights do not match: missing {missing[:5]}, unexpected {unexpected[:5]}")
    tensors = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    with torch.no_grad():
        for name, value in state.items():
            tensors[name].copy_(value)
