"""Exponential moving average of a model's trainable parameters (kept as plain tensors)."""

from __future__ import annotations

import torch
from torch import nn

from training.trainable import saved_frozen_state


class ParameterEMA:
    """shadow = decay * shadow + (1 - decay) * parameter, for every trainable parameter, after each step."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.shadow = {name: p.detach().clone().float() for name, p in model.named_parameters() if p.requires_grad}
        self.frozen = {name: t.clone() for name, t in saved_frozen_state(model).items()}  # saved as they are

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for name, parameter in model.named_parameters():
            if name in self.shadow:
                self.shadow[name].lerp_(parameter.detach().float(), 1.0 - self.decay)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {**{name: tensor.contiguous() for name, tensor in self.shadow.items()}, **self.frozen}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        expected = set(self.shadow) | set(self.frozen)
        if set(state) != expected:
            raise KeyError(f"EMA weights do not match the model: {sorted(set(state) ^ expected)[:5]}")
        for name, tensor in state.items():
            (self.shadow if name in self.shadow else self.frozen)[name].copy_(tensor)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Write the averaged weights into `model` (e.g. for export or evaluation)."""
        for name, parameter in model.named_parameters():
            if name in self.shadow:
                parameter.copy_(self.shadow[name].to(parameter.dtype))
