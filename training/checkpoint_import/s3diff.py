"""s3diff.pkl (the published S3Diff SR model) -> an SR checkpoint (generator role, no codec condition).

Also the starting point of the paper's simulator and S3Diff SR training: ``--init-from OUT`` (the
condition MLPs, absent from S3Diff, then start at zero).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from training.checkpoint_import.building import fill_from_published, s3diff_model
from training.checkpoint_import.presets import s3diff_baseline
from training.checkpoint_import.sr_checkpoint import write_role


def import_s3diff(
    file: str | Path,
    out: str | Path,
    *,
    de_net: str | Path | None = None,
    pretrained: str | None = None,
    model: nn.Module | None = None,
) -> Path:
    model = s3diff_model(s3diff_baseline(), pretrained, model, sr=True)
    fill_from_published(model, file, de_net, has_condition=False)
    return write_role(out, model, "generator", pretrained, "s3diff", [file, de_net])
