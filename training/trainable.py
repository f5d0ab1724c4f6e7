"""The trainable part of a module (parameters with requires_grad), saved and loaded by name.

Shared by the models that checkpoint only what training changes (the LoRA simulator, the SR system).
"""
from __future__ import annotations

import torch
from torch import nn


def trainable_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter with requires_grad, keyed by name."""
    return {name: p.detach().contiguous() for name, p in module.named_parameters() if p.requires_grad}


def load_trainable_state_dict(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a `trainable_state_dict`; the key sets must match exactly."""
    expected = set(trainable_state_dict(module))
    if set(state) != expected:
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        raise KeyError(f"trainable weights do not match: missing {missing[:5]}, unexpected {unexpected[:5]}")
    parameters = dict(module.named_parameters())
    with torch.no_grad():
        for name, value in state.items():
            parameters[name].copy_(value)
