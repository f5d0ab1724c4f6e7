"""Write an imported S3Diff-based model in the role it plays: simulator, SR generator or post-processor."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from torch import nn

from training.checkpoint_import.common import prefixed, write_checkpoint

ROLE_PREFIX = {"simulator": "", "generator": "generator.", "post": "post."}


def s3diff_record(model: nn.Module, pretrained: str | None) -> dict:
    """The architecture record; a local SD-Turbo folder is recorded absolute (a hub repo id as given)."""
    if pretrained is not None and Path(pretrained).expanduser().is_dir():
        pretrained = str(Path(pretrained).expanduser().resolve())
    return {"backbone": "s3diff", "pretrained": pretrained, "s3diff": dataclasses.asdict(model.settings)}


def write_role(out: str | Path, model: nn.Module, role: str, pretrained: str | None, kind: str, sources: list) -> Path:
    """OUT in the layout the loaders of `role` read (config sections as our trainers record them)."""
    record = s3diff_record(model, pretrained)
    if role == "simulator":
        config = {"architecture": record}
    elif role == "generator":
        config = {"generator": {**record, "scale": 1, "embed": model.settings.modulation != "none"}}
    else:
        config = {"post": record}
    config["imported"] = kind
    return write_checkpoint(out, prefixed(model.trainable_state_dict(), ROLE_PREFIX[role]), config, kind, sources)
