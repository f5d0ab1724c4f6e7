"""de_net.pth (S3Diff's degradation estimator, a plain state dict) -> our checkpoint folder.

The folder holds ``degradation_estimator.*`` weights; the S3Diff importers take either it or the
published .pth as ``de_net`` and put the estimator inside every S3Diff-based checkpoint they write.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from training.checkpoint_import.common import check_keys, read_tensors_only, tensors_of, write_checkpoint
from training.models.s3diff.de_net import DEResNet

PREFIX = "degradation_estimator."


def read_de_net(path: str | Path) -> dict[str, torch.Tensor]:
    """DEResNet weights from the published de_net.pth, or from a folder / .safetensors this module wrote."""
    path = Path(path).expanduser()
    if path.is_dir() or path.suffix == ".safetensors":
        file = path / "model.safetensors" if path.is_dir() else path
        if not file.is_file():
            raise FileNotFoundError(f"no DEResNet weights at {file}")
        state = {name[len(PREFIX) :]: value for name, value in load_file(str(file)).items() if name.startswith(PREFIX)}
    else:
        state = tensors_of(read_tensors_only(path), f"{path}")
    check_keys(DEResNet().state_dict(), state, str(path))
    return state


def import_de_net(file: str | Path, out: str | Path) -> Path:
    state = read_de_net(file)
    return write_checkpoint(
        out,
        {PREFIX + name: value for name, value in state.items()},
        {"de_net": {"num_degradation": 2}},
        "de_net",
        [file],
    )
