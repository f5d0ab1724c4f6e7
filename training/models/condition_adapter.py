"""The paper's shared codec-aware conditioning (App. B.3) for any SR network, by naming its modules.

The condition c = [one-hot(3), bpp] is embedded as the RRDBNet's is (training/condition.py: each scalar
sinusoidally, 16 dims -> 64); per named module an MLP head (Linear - SiLU - Linear, last layer zero-
initialised) maps the embedding to
  bias   one value per output channel, added to the module's output (the paper's Real-ESRGAN way), or
  film   (gamma, beta) per channel: output * (1 + gamma) + beta.
So at initialisation the conditioned network computes exactly the backbone's output.

Spec strings (``--condition``, recorded in the checkpoint): ``none`` (no conditioning: the Table 5 "no SR
embed" row), ``native`` (the network's forward takes the condition itself), ``bias:MODULES``,
``film:MODULES``, or ``bias`` / ``film`` alone for the architecture's default modules. MODULES is a
comma-separated list of module names (glob patterns allowed: ``body.*.rdb1``) or class names
(``Conv2d``). Channels are found by one probe forward, on 4-D outputs (B x C x H x W) and channel-last
3-D / 2-D ones (B x N x C, B x C: transformer blocks, Linear layers).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatchcase
from functools import partial

import torch
from torch import nn

from training.condition import CONDITION_DIM, SinusoidalEmbedding
from training.models.backbone import probe_condition, probe_input
from training.models.rrdbnet import bias_head

ADAPTER_KINDS = ("bias", "film")
CONDITIONS = ("none", "native", *ADAPTER_KINDS)
# spandrel architecture id -> default modules (the paper's choice where it made one); others: every Conv2d
DEFAULT_MODULES = {"ESRGAN": "model.1.sub.*.RDB1,model.1.sub.*.RDB2"}
FALLBACK_MODULES = "Conv2d"
DIMS_PER_SCALAR = 16


def parse_condition(spec: str) -> tuple[str, str | None]:
    """``"bias:body.*.rdb1"`` -> ("bias", "body.*.rdb1"); ``"bias"`` -> ("bias", None); ValueError otherwise."""
    kind, _, modules = spec.partition(":")
    if kind not in CONDITIONS or (modules and kind not in ADAPTER_KINDS):
        raise ValueError(
            f"condition {spec!r}: expected none, native, bias[:MODULES] or film[:MODULES] "
            f"(MODULES: module names, glob patterns or class names such as Conv2d, comma-separated)"
        )
    return kind, modules or None


def matching_modules(backbone: nn.Module, modules: str) -> list[str]:
    """Names of the backbone's modules that `modules` (names, glob patterns, class names) selects, in order."""
    patterns = [item.strip() for item in modules.split(",") if item.strip()]
    names = [
        name
        for name, module in backbone.named_modules()
        if name and any(fnmatchcase(name, pattern) or type(module).__name__ == pattern for pattern in patterns)
    ]
    if not names:
        some = ", ".join(name for name, _ in list(backbone.named_modules())[1:6])
        raise ValueError(
            f"condition modules {modules!r} match no module of {type(backbone).__name__} (its modules are "
            f"named like {some}); give names, glob patterns or class names"
        )
    return names


class _Modulation:
    """One forward hook; an object (not a closure) so that deepcopy (EMA) copies it cleanly."""

    def __init__(self, adapter: ConditionAdapter, index: int, embedding: torch.Tensor):
        self.adapter, self.index, self.embedding = adapter, index, embedding

    def __call__(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        return self.adapter.modulate(self.index, self.embedding, output)


class ConditionAdapter(nn.Module):
    """Heads for `module_names` of a backbone; ``applied(backbone, condition)`` hooks them for one forward."""

    def __init__(self, kind: str, module_names: list[str], channels: list[int], dims_per_scalar: int = DIMS_PER_SCALAR):
        super().__init__()
        if kind not in ADAPTER_KINDS:
            raise ValueError(f"unknown condition adapter {kind!r}; choose one of {', '.join(ADAPTER_KINDS)}")
        self.kind, self.module_names = kind, list(module_names)
        self.embedding = SinusoidalEmbedding(dims_per_scalar)
        embed_dim = self.embedding.output_dim(CONDITION_DIM)
        width = 2 if kind == "film" else 1
        self.heads = nn.ModuleList(bias_head(embed_dim, width * count, embed_dim) for count in channels)

    @contextmanager
    def applied(self, backbone: nn.Module, condition: torch.Tensor) -> Iterator[None]:
        embedding = self.embedding(condition)
        handles = [
            backbone.get_submodule(name).register_forward_hook(_Modulation(self, index, embedding))
            for index, name in enumerate(self.module_names)
        ]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def modulate(self, index: int, embedding: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        name = self.module_names[index]
        if not isinstance(output, torch.Tensor) or output.ndim < 2 or output.shape[0] != embedding.shape[0]:
            got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise ValueError(
                f"condition module {name!r} gives {got}, not a batch-first tensor of the batch's "
                f"{embedding.shape[0]} pictures: condition another module"
            )
        values = self.heads[index](embedding).to(output.dtype)
        if self.kind == "bias":
            return output + _broadcast(values, output)
        gamma, beta = values.chunk(2, dim=1)
        return output * (1 + _broadcast(gamma, output)) + _broadcast(beta, output)


def _broadcast(values: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """B x C values shaped to act per channel: B x C x 1 x 1 for 4-D outputs, channel-last otherwise."""
    if output.ndim == 4:
        return values[:, :, None, None]
    return values.reshape(values.shape[0], *([1] * (output.ndim - 2)), values.shape[1])


@torch.no_grad()
def output_channels(backbone: nn.Module, names: list[str], size_multiple: int, native: bool) -> list[int]:
    """Per module, its output's channels (dim 1 of 4-D outputs, else the last), from one probe forward."""
    found: dict[str, int] = {}

    def record(name: str, _module: nn.Module, _inputs: tuple, output: object) -> None:
        if isinstance(output, torch.Tensor) and output.ndim >= 2:
            found.setdefault(name, output.shape[1] if output.ndim == 4 else output.shape[-1])

    parameter = next(backbone.parameters(), None)
    device = parameter.device if parameter is not None else None
    handles = [backbone.get_submodule(name).register_forward_hook(partial(record, name)) for name in names]
    was_training = backbone.training
    backbone.eval()
    try:
        image = probe_input(size_multiple, device)
        backbone(image, probe_condition(device)) if native else backbone(image)
    finally:
        backbone.train(was_training)
        for handle in handles:
            handle.remove()
    silent = [name for name in names if name not in found]
    if silent:
        raise ValueError(f"condition module {silent[0]!r} gives no tensor output in a forward: condition another one")
    return [found[name] for name in names]


def build_adapter(
    backbone: nn.Module, condition: str, default_modules: str, size_multiple: int, native: bool
) -> ConditionAdapter | None:
    """The adapter `condition` asks for (None for ``none`` / ``native``), its heads zero at the last layer."""
    kind, modules = parse_condition(condition)
    if kind not in ADAPTER_KINDS:
        return None
    names = matching_modules(backbone, modules or default_modules)
    return ConditionAdapter(kind, names, output_channels(backbone, names, size_multiple, native))
