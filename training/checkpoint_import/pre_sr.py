"""VRPSR's pre_sr.pkl (the SR model in front of the post-processor) -> an SR checkpoint.

Same layout and architecture as vrpsr_s3diff.pkl (an S3DiffMetaEmbed SR model)."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from training.checkpoint_import.vrpsr_s3diff import import_vrpsr_s3diff


def import_pre_sr(
    file: str | Path,
    out: str | Path,
    *,
    de_net: str | Path | None = None,
    pretrained: str | None = None,
    model: nn.Module | None = None,
) -> Path:
    return import_vrpsr_s3diff(file, out, de_net=de_net, pretrained=pretrained, model=model, kind="pre_sr")
