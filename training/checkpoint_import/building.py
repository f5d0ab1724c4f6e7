"""Build the S3Diff model an import fills, and fill it from a published S3Diff / VRPSR file."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from training.checkpoint_import.common import PublishedFileError, load_into, read_tensors_only
from training.checkpoint_import.de_net import PREFIX as DE_NET_PREFIX
from training.checkpoint_import.de_net import read_de_net
from training.checkpoint_import.s3diff_layout import check_architecture, map_published
from training.models.s3diff.settings import S3DiffSettings

CONDITION_PREFIX = "film."


def s3diff_model(settings: S3DiffSettings, pretrained: str | None, model: nn.Module | None, sr: bool) -> nn.Module:
    """`model` when given (tests: tiny parts), else SD-Turbo from `pretrained` with `settings`."""
    if model is not None:
        return model
    if pretrained is None:
        raise ValueError("importing an S3Diff-based checkpoint needs --pretrained: the stabilityai/sd-turbo folder")
    if sr:
        from training.models.sr_s3diff import S3DiffSR

        return S3DiffSR.from_pretrained(pretrained, settings)
    from training.models.simulator import CodecSimulator

    return CodecSimulator.from_pretrained(pretrained, settings)


def fill_from_published(model: nn.Module, file: str | Path, de_net: str | Path | None, has_condition: bool) -> None:
    """Load a published save_model file (and de_net) into `model`; every tensor must land.

    `has_condition`: the file carries VRPSR's per-block condition MLPs (every VRPSR file); S3Diff's does
    not, and the model's condition MLPs then keep their zero initialisation."""
    if de_net is None:
        raise ValueError("the S3Diff models need their degradation estimator: give --de-net de_net.pth")
    published = read_tensors_only(file)
    check_architecture(published, str(file), model.settings.unet_lora_rank, model.settings.vae_lora_rank)
    blocks = model.film.block_names if model.film is not None else []
    mapped = map_published(published, str(file), blocks)
    if has_condition and not any(name.startswith(CONDITION_PREFIX) for name in mapped):
        raise PublishedFileError(f"{file} has no condition MLPs (<block>.mlp.*): an S3Diff file, not a VRPSR one")
    if model.film is None and any(name.startswith(CONDITION_PREFIX) for name in mapped):
        raise PublishedFileError(f"{file} has condition MLPs but the model has none (modulation 'none')")
    mapped.update({DE_NET_PREFIX + name: value for name, value in read_de_net(de_net).items()})
    load_into(model, mapped, f"{file} (+ {de_net})", may_miss=() if has_condition else (CONDITION_PREFIX,))
