"""S3Diff's degradation-guided LoRA: ``y = W x + scaling * B(M A x)`` with a per-sample r x r matrix M.

A (rank r) and B are peft's LoRA factors (A: the base layer's kernel, stride and padding, Gaussian init
with std 1/r; B: 1x1 / linear, zero init, so a fresh adapter changes nothing). M is computed per forward
from the degradation scores (``DegradationGuidance``) and set on every wrapper with ``set_modulation``;
without degradation guidance M is the identity and this is plain LoRA.

Which layers get an adapter follows the published S3Diff exactly: in the UNet, every Linear / Conv2d
whose name is, or ends with ``.`` + one of ``UNET_TARGETS`` (peft's rule for a list); in the VAE, every
one whose full name matches the regular expression ``VAE_TARGETS`` (the encoder's layers only). Each
adapted layer belongs to a block (4 UNet down blocks, mid, 4 up blocks, the rest; or 4 VAE encoder
down blocks, mid, the rest): the block picks its M (``unet_block_index`` / ``vae_block_index``).
Parameter names: ``<layer>.base_layer.*`` (frozen), ``<layer>.lora_A.weight``, ``<layer>.lora_B.weight``.
"""

from __future__ import annotations

import re

import torch
from torch import nn

UNET_TARGETS = (
    "to_k",
    "to_q",
    "to_v",
    "to_out.0",
    "conv",
    "conv1",
    "conv2",
    "conv_shortcut",
    "conv_out",
    "proj_in",
    "proj_out",
    "ff.net.2",
    "ff.net.0.proj",
)
VAE_TARGETS = r"^encoder\..*(conv1|conv2|conv_in|conv_shortcut|conv|conv_out|to_k|to_q|to_v|to_out\.0)$"
UNET_BLOCKS = 10  # down 0-3, mid 4, up 5-8, other (conv_out) 9
VAE_BLOCKS = 6  # encoder down 0-3, mid 4, other (conv_in, conv_out) 5


class DegradationLoRA(nn.Module):
    """A frozen Linear / Conv2d plus a rank-r adapter whose middle is modulated by M (B x r x r)."""

    def __init__(self, base_layer: nn.Module, rank: int, alpha: float):
        super().__init__()
        self.base_layer = base_layer
        if isinstance(base_layer, nn.Conv2d):
            self.lora_A = nn.Conv2d(
                base_layer.in_channels, rank, base_layer.kernel_size, base_layer.stride, base_layer.padding, bias=False
            )
            self.lora_B = nn.Conv2d(rank, base_layer.out_channels, 1, 1, groups=base_layer.groups, bias=False)
        elif isinstance(base_layer, nn.Linear):
            self.lora_A = nn.Linear(base_layer.in_features, rank, bias=False)
            self.lora_B = nn.Linear(rank, base_layer.out_features, bias=False)
        else:
            raise TypeError(f"LoRA needs a Linear or Conv2d, got {type(base_layer).__name__}")
        nn.init.normal_(self.lora_A.weight, std=1.0 / rank)
        nn.init.zeros_(self.lora_B.weight)
        self.rank, self.scaling = rank, alpha / rank
        self.modulation: torch.Tensor | None = None
        self.guided = True

    def set_modulation(self, matrix: torch.Tensor | None) -> None:
        """M for the next forwards: B x r x r (or None with guidance off)."""
        self.modulation = matrix

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        result = self.base_layer(x, *args, **kwargs)
        low = self.lora_A(x.to(self.lora_A.weight.dtype))
        if self.guided:
            if self.modulation is None:
                raise RuntimeError("degradation-guided LoRA: no modulation set (call the model, not its parts)")
            matrix = self.modulation.to(low.dtype)
            if isinstance(self.lora_A, nn.Conv2d):  # B x r x H x W: mix the r channels per sample
                low = torch.einsum("bkhw,bkr->brhw", low, matrix)
            else:  # B x ... x r
                low = torch.bmm(low.reshape(low.shape[0], -1, self.rank), matrix).reshape(low.shape)
        return (result + self.lora_B(low) * self.scaling).to(result.dtype)


def is_unet_target(name: str) -> bool:
    return any(name == target or name.endswith("." + target) for target in UNET_TARGETS)


def is_vae_target(name: str) -> bool:
    return re.fullmatch(VAE_TARGETS, name) is not None


def unet_block_index(name: str) -> int:
    """The UNet block an adapted layer belongs to (S3Diff: down i -> i, mid -> 4, up i -> 5 + i, else 9)."""
    parts = name.split(".")
    if parts[0] == "down_blocks":
        return int(parts[1])
    if parts[0] == "mid_block":
        return 4
    if parts[0] == "up_blocks":
        return int(parts[1]) + 5
    return UNET_BLOCKS - 1


def vae_block_index(name: str) -> int:
    """The VAE block (names from the VAE's root, "encoder...."): down i -> i, mid -> 4, else 5."""
    parts = name.split(".")
    if parts[1] == "down_blocks":
        return int(parts[2])
    if parts[1] == "mid_block":
        return VAE_BLOCKS - 2
    return VAE_BLOCKS - 1


def inject_lora(module: nn.Module, is_target, rank: int, alpha: float) -> dict[str, DegradationLoRA]:
    """Wrap every targeted Linear / Conv2d of `module` in a DegradationLoRA; returns name -> wrapper."""
    names = [
        name
        for name, child in module.named_modules()
        if name and is_target(name) and isinstance(child, (nn.Linear, nn.Conv2d))
    ]
    wrappers: dict[str, DegradationLoRA] = {}
    for name in names:
        parent_name, _, attribute = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        wrapper = DegradationLoRA(getattr(parent, attribute), rank, alpha)
        setattr(parent, attribute, wrapper)
        wrappers[name] = wrapper
    if not wrappers:
        raise ValueError(f"{type(module).__name__} has no layer the S3Diff LoRA targets")
    return wrappers
