"""FiLM codec conditioning for every diffusers ``ResnetBlock2D`` of a module, through forward hooks.

For each block a small MLP maps the condition embedding (B x embed_dim) to (gamma, beta) per channel of
the block's ``conv2`` output, applied as ``h * (1 + gamma) + beta`` before the residual sum. The MLP's
last layer is zero-initialised, so at initialisation the hooked model computes exactly what it did
before. Hooks leave the model's class and state-dict keys untouched: any UNet2DConditionModel,
AutoencoderKL or home-made network of ResnetBlock2D gets the conditioning the same way.

Attach FiLM *after* injecting LoRA: peft replaces ``conv2`` by a wrapper, and a hook on the old module
would then condition only the frozen base branch. ``attach_film`` hooks whatever ``conv2`` is now.

Gradient checkpointing recomputes the blocks in backward, and the hooks then read the condition set
*last*: call a FiLM-conditioned module with gradients at one condition per backward (calls without
gradients, like stage 2's target f_theta(X, c'), don't count). The trainers do; tests check it.
"""

from __future__ import annotations

import torch
from diffusers.models.resnet import ResnetBlock2D
from torch import nn
from torch.utils.hooks import RemovableHandle


def _output_channels(conv: nn.Module) -> int:
    """Output channels of a Conv2d, also when wrapped (peft LoRA keeps the Conv2d as `base_layer`)."""
    for module in conv.modules():
        if isinstance(module, nn.Conv2d):
            return module.out_channels
    raise TypeError(f"no nn.Conv2d inside {type(conv).__name__}")


def film_mlp(embed_dim: int, channels: int, hidden_dim: int) -> nn.Sequential:
    """embed -> hidden -> SiLU -> 2*channels, last layer zero-initialised (identity FiLM at start)."""
    mlp = nn.Sequential(nn.Linear(embed_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, 2 * channels))
    nn.init.zeros_(mlp[-1].weight)
    nn.init.zeros_(mlp[-1].bias)
    return mlp


class _FilmHook:
    """Forward hook of one block; an object (not a closure) so that deepcopy rebinds it to the copy."""

    def __init__(self, controller: FilmController, index: int):
        self.controller, self.index = controller, index

    def __call__(self, _module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        return self.controller.modulation(self.index, output)


class FilmController(nn.Module):
    """Holds the per-block FiLM MLPs and the current condition; its hooks modulate the blocks' conv2.

    Call ``set_condition(embedding)`` (B x embed_dim, or 1 x embed_dim to broadcast) before each forward
    of the hooked module. The controller is not a submodule of the hooked model: keep it beside the
    model (its parameters train with it, its state dict saves with it).
    """

    def __init__(self, embed_dim: int, block_names: list[str], channels: list[int], hidden_dim: int):
        super().__init__()
        self.embed_dim = embed_dim
        self.block_names = list(block_names)
        self.mlps = nn.ModuleList(film_mlp(embed_dim, c, hidden_dim) for c in channels)
        self._embedding: torch.Tensor | None = None
        self._handles: list[RemovableHandle] = []
        self.hooked_modules: list[nn.Module] = []

    def set_condition(self, embedding: torch.Tensor) -> None:
        """Condition the next forward passes on `embedding` (B x embed_dim)."""
        if embedding.ndim != 2 or embedding.shape[1] != self.embed_dim:
            raise ValueError(f"FiLM embedding must be B x {self.embed_dim}, got {tuple(embedding.shape)}")
        self._embedding = embedding

    def clear_condition(self) -> None:
        """Forget the condition (a forward without a new ``set_condition`` then raises)."""
        self._embedding = None

    def modulation(self, index: int, features: torch.Tensor) -> torch.Tensor:
        """Apply block `index`'s FiLM to its conv2 output `features` (B x C x H x W)."""
        if self._embedding is None:
            raise RuntimeError(f"FiLM on {self.block_names[index]!r}: call set_condition(embedding) before forward")
        embedding = self._embedding.to(device=features.device, dtype=self.mlps[index][0].weight.dtype)
        gamma, beta = self.mlps[index](embedding).to(features.dtype).chunk(2, dim=1)
        if gamma.shape[0] not in (1, features.shape[0]):
            raise ValueError(f"FiLM condition batch {gamma.shape[0]} does not match features batch {features.shape[0]}")
        return features * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]

    def remove(self) -> None:
        """Detach every hook (the MLPs stay; the model computes as without FiLM)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.hooked_modules.clear()


def resnet_blocks(module: nn.Module) -> list[tuple[str, ResnetBlock2D]]:
    """Every diffusers ResnetBlock2D inside `module`, with its qualified name, in module order."""
    return [(name, block) for name, block in module.named_modules() if isinstance(block, ResnetBlock2D)]


def attach_film(module: nn.Module, embed_dim: int, hidden_dim: int | None = None) -> FilmController:
    """Hook FiLM into every ResnetBlock2D of `module`; returns the controller that owns the MLPs."""
    blocks = resnet_blocks(module)
    if not blocks:
        raise ValueError(f"{type(module).__name__} has no diffusers ResnetBlock2D to condition")
    controller = FilmController(
        embed_dim,
        [name for name, _ in blocks],
        [_output_channels(block.conv2) for _, block in blocks],
        hidden_dim or embed_dim,
    )
    for index, (_, block) in enumerate(blocks):
        controller._handles.append(block.conv2.register_forward_hook(_FilmHook(controller, index)))
        controller.hooked_modules.append(block.conv2)
    return controller
