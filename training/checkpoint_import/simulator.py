"""VRPSR's simulator.pkl (S3DiffMetaEmbed: the rate-target codec simulator) -> a stage-1 checkpoint."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from training.checkpoint_import.building import fill_from_published, s3diff_model
from training.checkpoint_import.presets import official_vrpsr
from training.checkpoint_import.sr_checkpoint import write_role


def import_simulator(
    file: str | Path,
    out: str | Path,
    *,
    de_net: str | Path | None = None,
    pretrained: str | None = None,
    model: nn.Module | None = None,
) -> Path:
    model = s3diff_model(official_vrpsr(1), pretrained, model, sr=False)
    fill_from_published(model, file, de_net, has_condition=True)
    return write_role(out, model, "simulator", pretrained, "simulator", [file, de_net])
