"""The S3Diff backbone in each role, from SD-Turbo and a recorded S3DiffSettings; and ``--init-from`` weights.

Roles: the simulator f_theta and the post-processor h_phi work on pictures in [-1, 1] at the coded
size (the DEResNet sees the input itself); the SR model g_phi gets the LQ upsampled to the output in
[0, 1] (the DEResNet sees it downscaled by 4 unless the record says otherwise).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from safetensors.torch import load_file
from torch import nn

from training.models.s3diff.settings import S3DiffSettings
from training.models.weights_files import weights_file

ROLE_PREFIXES = ("generator.", "post.")
CONDITION_PREFIX = "film."


def _settings(record: dict | None, **defaults: object) -> S3DiffSettings:
    return S3DiffSettings.from_record({**defaults, **(record or {})})


def s3diff_simulator(pretrained: str | None, record: dict | None) -> nn.Module:
    if pretrained is None:
        raise ValueError("the s3diff simulator needs `pretrained`: a folder holding stabilityai/sd-turbo")
    from training.models.simulator import CodecSimulator

    return CodecSimulator.from_pretrained(pretrained, _settings(record))


def s3diff_generator(pretrained: str | None, record: dict | None) -> nn.Module:
    if pretrained is None:
        raise ValueError("the s3diff generator needs `pretrained`: a folder holding stabilityai/sd-turbo")
    from training.models.sr_s3diff import S3DiffSR

    return S3DiffSR.from_pretrained(pretrained, _settings(record, degradation_input_scale=4))


def s3diff_post(pretrained: str | None, record: dict | None) -> nn.Module:
    if pretrained is None:
        raise ValueError("the s3diff post-processor needs `pretrained`: a folder holding stabilityai/sd-turbo")
    return s3diff_simulator(pretrained, record)


def settings_record(model: nn.Module) -> dict:
    """What to record for `model` (its S3DiffSettings as a dict)."""
    return dataclasses.asdict(model.settings)


def load_init_weights(model: nn.Module, path: str | Path) -> None:
    """Start `model` (an S3Diff-based simulator, SR model or post-processor) from a checkpoint's weights.

    Any of our checkpoints or imported ones: the ``generator.`` or ``post.`` entries when the file has
    them, else all. Every weight of the model must be in the file, except the condition MLPs when the
    file has none at all (S3Diff: they then keep their zero initialisation); nothing may be left over.
    """
    from training.checkpoint_import.common import load_into

    file = weights_file(path)
    state = load_file(str(file))
    for prefix in ROLE_PREFIXES:
        if any(name.startswith(prefix) for name in state):
            state = {name[len(prefix) :]: value for name, value in state.items() if name.startswith(prefix)}
            break
    target = model.simulator if hasattr(model, "simulator") and hasattr(model.simulator, "degradation") else model
    has_condition = any(name.startswith(CONDITION_PREFIX) for name in state)
    load_into(target, state, f"--init-from {file}", may_miss=() if has_condition else (CONDITION_PREFIX,))
