"""The one convention every SR network follows in vrpsr, and the wrapper that makes any network follow it.

``SRBackbone`` (below) is what a network must be to enter as ``--backbone py:MODULE:ATTR`` or
``--backbone spandrel:FILE.pth``; ``ConditionedBackbone`` turns it into g_phi, the module the trainers
and loaders call as ``g_phi(lq, condition, prompts)``. The built-in ``rrdbnet`` and ``s3diff`` are
already such g_phi modules (their codec conditioning is their own), so they need no wrapper.

Output mappings (recorded per generator): how g_phi's output becomes the picture the codec receives.
  "clamp"           clamp(0, 1): ours, for every network trained by vrpsr
  "vrpsr-official"  clamp(-1, 1) * 0.5 + 0.5: the official VRPSR inference (find_best_qp), kept for the
                    imported ``vrpsr_realesrgan``, whose outputs are in [0, 1] yet mapped this way
"""

from __future__ import annotations

import inspect
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from training.condition import CONDITION_DIM
from training.trainable import load_trainable_state_dict, trainable_state_dict

OUTPUT_MAPPINGS = {
    "clamp": lambda output: output.clamp(0, 1),
    "vrpsr-official": lambda output: output.clamp(-1, 1) * 0.5 + 0.5,
}
PROBE_SIDE = 16  # the probe forward's input side (times the network's size multiple)


def mapped_output(output: torch.Tensor, mapping: str) -> torch.Tensor:
    """g_phi's output as the picture in [0, 1] the codec receives, by the recorded output mapping."""
    if mapping not in OUTPUT_MAPPINGS:
        raise ValueError(f"unknown output mapping {mapping!r}; choose one of {', '.join(OUTPUT_MAPPINGS)}")
    return OUTPUT_MAPPINGS[mapping](output)


@runtime_checkable
class SRBackbone(Protocol):
    """An SR network vrpsr can train and evaluate: an ``nn.Module`` whose forward is

        forward(lq) -> sr                 picture-only: a condition adapter gives it the codec condition
        forward(lq, condition) -> sr      condition-aware: gets the (B, 4) condition [one-hot, bpp] itself

    lq         B x 3 x h x w, float32 in [0, 1] (RGB). At scale s > 1 it is the degraded picture itself
               (S/s of the output side); at scale 1 it is the degraded picture upsampled (bicubic) to the
               output size.
    condition  B x 4: one-hot of the codec (x264, x265, vvenc) and the target bits per pixel of the output.
    sr         B x 3 x (h * s) x (w * s), float in [0, 1] (not clamped: the loss sees sr * 2 - 1, the
               evaluation clamps to [0, 1] and rounds to uint8).
    scale      discovered in this order: the module's ``scale`` attribute, spandrel's detected scale, a
               probe forward on a 16 x 16 input (output side / input side). vrpsr trains and evaluates 4
               (LQ as it is) and 1 (LQ upsampled).
    size_multiple  optional attribute: input sides must be multiples of it (evaluation pads, training
               crops must fit); spandrel's size requirement when it has one.
    """

    def forward(self, lq: torch.Tensor, *condition: torch.Tensor) -> torch.Tensor: ...


def takes_condition(backbone: nn.Module) -> bool:
    """Whether forward takes a second positional argument (the condition), by its signature."""
    parameters = [
        parameter
        for parameter in inspect.signature(backbone.forward).parameters.values()
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD, parameter.VAR_POSITIONAL)
    ]
    return len(parameters) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


def probe_input(size_multiple: int, device: torch.device | None = None) -> torch.Tensor:
    side = PROBE_SIDE * max(1, size_multiple)
    return torch.full((1, 3, side, side), 0.5, device=device)


def probe_condition(device: torch.device | None = None) -> torch.Tensor:
    condition = torch.zeros(1, CONDITION_DIM, device=device)
    condition[0, 0], condition[0, -1] = 1.0, 0.3
    return condition


@torch.no_grad()
def discovered_scale(backbone: nn.Module, size_multiple: int, native: bool) -> int:
    """The module's ``scale`` attribute, else output side / input side of a probe forward."""
    if isinstance(getattr(backbone, "scale", None), int):
        return int(backbone.scale)
    parameter = next(backbone.parameters(), None)
    device = parameter.device if parameter is not None else None
    image = probe_input(size_multiple, device)
    was_training = backbone.training
    backbone.eval()
    try:
        output = backbone(image, probe_condition(device)) if native else backbone(image)
    finally:
        backbone.train(was_training)
    if not isinstance(output, torch.Tensor) or output.ndim != 4 or output.shape[-1] % image.shape[-1]:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ValueError(
            f"{type(backbone).__name__}: a {tuple(image.shape)} input gave {shape}; an SR backbone returns "
            f"B x 3 x (h*s) x (w*s) (see training/models/backbone.py SRBackbone)"
        )
    return output.shape[-1] // image.shape[-1]


class ConditionedBackbone(nn.Module):
    """g_phi from any SRBackbone: ``forward(lq, condition, prompts) -> sr`` (prompts are ignored).

    `adapter`: a ConditionAdapter (training/models/condition_adapter.py) that biases or FiLMs named
    modules of a picture-only network, or None (the network takes the condition itself, or runs
    unconditioned: ``--condition none``). Parameter names: ``backbone.*`` (the network's own, so its
    state dict stays the published one under that prefix) and ``adapter.*``.
    """

    def __init__(
        self, backbone: nn.Module, scale: int, size_multiple: int = 1, native: bool = False, adapter=None
    ) -> None:
        super().__init__()
        self.backbone, self.adapter = backbone, adapter
        self.scale, self.size_multiple, self.native = int(scale), int(size_multiple), native

    def forward(
        self, image: torch.Tensor, condition: torch.Tensor | None = None, prompts: list[str] | None = None
    ) -> torch.Tensor:
        if (self.native or self.adapter is not None) and condition is None:
            raise ValueError("this SR model is codec-aware: pass the condition (B x 4: one-hot, bpp)")
        if condition is not None:
            condition = condition.to(image.device).float()
        if self.adapter is None:
            return self.backbone(image, condition) if self.native else self.backbone(image)
        with self.adapter.applied(self.backbone, condition):
            return self.backbone(image, condition) if self.native else self.backbone(image)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The parameters (what a checkpoint holds); buffers such as SwinIR's masks are rebuilt by the class."""
        return trainable_state_dict(self)

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        load_trainable_state_dict(self, state)
