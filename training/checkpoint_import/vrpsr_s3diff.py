"""VRPSR's vrpsr_s3diff.pkl (the recompression-aware S3Diff SR model) -> an SR checkpoint.

Recorded as the official inference runs it: the DEResNet scores the SR input at its own size
(degradation_input_scale 1: the official configs/sr.yaml has sf 1), not the x4-downscaled picture."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from training.checkpoint_import.building import fill_from_published, s3diff_model
from training.checkpoint_import.presets import official_vrpsr
from training.checkpoint_import.sr_checkpoint import write_role


def import_vrpsr_s3diff(
    file: str | Path,
    out: str | Path,
    *,
    de_net: str | Path | None = None,
    pretrained: str | None = None,
    model: nn.Module | None = None,
    kind: str = "vrpsr_s3diff",
) -> Path:
    model = s3diff_model(official_vrpsr(1), pretrained, model, sr=True)
    fill_from_published(model, file, de_net, has_condition=True)
    return write_role(out, model, "generator", pretrained, kind, [file, de_net])
