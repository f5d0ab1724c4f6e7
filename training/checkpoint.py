"""Checkpoints: weights as safetensors, optimiser/scheduler/RNG state as plain tensors (weights_only load).

A checkpoint is a folder ``<output_dir>/checkpoints/step-0001000/`` holding ``model.safetensors`` (only
the trainable weights when the model defines ``trainable_state_dict``), ``discriminator.safetensors``,
``ema.safetensors``, ``training_state.pt``, ``config.json`` and, when training from the streaming loader,
``data_state.json`` (every rank's loader position, in rank order). It is written to a temporary folder and
renamed when complete, so a crash never leaves a half checkpoint that resume would pick up.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from training.ema import ParameterEMA

CHECKPOINTS = "checkpoints"
TRAINING_STATE = "training_state.pt"
DATA_STATE = "data_state.json"


def _read_tensors(path: Path) -> dict:
    """A checkpoint file's tensors (safetensors, or torch.load(weights_only=True)); a damaged file is one
    ValueError naming it, whatever the reader raised (SafetensorError, UnpicklingError, IndexError...)."""
    try:
        return load_file(str(path)) if path.suffix == ".safetensors" else torch.load(path, weights_only=True)
    except Exception as error:
        raise ValueError(
            f"{path}: damaged or not a checkpoint file ({type(error).__name__}: {error}): give an intact checkpoint"
        ) from error


def checkpoint_dir(output_dir: str | Path, step: int) -> Path:
    return Path(output_dir) / CHECKPOINTS / f"step-{step:07d}"


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The complete checkpoint with the highest step, or None."""
    folders = [p for p in (Path(output_dir) / CHECKPOINTS).glob("step-*") if (p / TRAINING_STATE).is_file()]
    return max(folders, key=lambda p: int(p.name.split("-")[1]), default=None)


def model_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """What to save of `model`: its trainable_state_dict() when it has one, else its full state_dict()."""
    state = model.trainable_state_dict() if hasattr(model, "trainable_state_dict") else model.state_dict()
    return {name: tensor.detach().contiguous() for name, tensor in state.items()}


def load_model_weights(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    if hasattr(model, "load_trainable_state_dict"):
        model.load_trainable_state_dict(state)
    else:
        model.load_state_dict(state)


def save_checkpoint(
    folder: Path,
    step: int,
    model: nn.Module,
    discriminator: nn.Module | None,
    optimizers: dict[str, Any],
    ema: ParameterEMA | None,
    config: dict,
    data_states: list[dict] | None = None,
) -> Path:
    """Write everything needed to continue at `step`; `optimizers` maps a name to an optimizer or scheduler;
    `data_states`: each rank's loader state_dict(), in rank order."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_file(model_weights(model), str(partial / "model.safetensors"))
    if discriminator is not None:
        save_file(model_weights(discriminator), str(partial / "discriminator.safetensors"))
    if ema is not None:
        save_file(ema.state_dict(), str(partial / "ema.safetensors"))
    state = {
        "step": step,
        "cpu_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        **{name: item.state_dict() for name, item in optimizers.items()},
    }
    torch.save(state, partial / TRAINING_STATE)
    (partial / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
    if data_states is not None:
        (partial / DATA_STATE).write_text(json.dumps({"ranks": data_states}, sort_keys=True))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def load_checkpoint(
    folder: str | Path,
    model: nn.Module,
    discriminator: nn.Module | None,
    optimizers: dict[str, Any],
    ema: ParameterEMA | None,
) -> int:
    """Restore a checkpoint written by `save_checkpoint` in place; returns its step."""
    folder = Path(folder)
    if not (folder / TRAINING_STATE).is_file():
        raise FileNotFoundError(f"{folder} is not a complete checkpoint (no {TRAINING_STATE})")
    load_model_weights(model, _read_tensors(folder / "model.safetensors"))
    if discriminator is not None:
        if not (folder / "discriminator.safetensors").is_file():
            raise FileNotFoundError(f"{folder} has no discriminator.safetensors but this run trains one")
        load_model_weights(discriminator, _read_tensors(folder / "discriminator.safetensors"))
    if ema is not None:
        if not (folder / "ema.safetensors").is_file():
            raise FileNotFoundError(f"{folder} has no ema.safetensors but this run keeps an EMA")
        ema.load_state_dict(_read_tensors(folder / "ema.safetensors"))
    state = _read_tensors(folder / TRAINING_STATE)
    for name, item in optimizers.items():
        if name not in state:
            raise KeyError(f"{folder / TRAINING_STATE} has no {name!r} state")
        item.load_state_dict(state[name])
    torch.set_rng_state(state["cpu_rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return int(state["step"])


def load_data_state(folder: str | Path, rank: int, world_size: int) -> dict | None:
    """This rank's loader state saved in `folder`, or None when the checkpoint has none (older checkpoints)."""
    path = Path(folder) / DATA_STATE
    if not path.is_file():
        return None
    ranks = json.loads(path.read_text())["ranks"]
    if len(ranks) != world_size:
        raise ValueError(
            f"cannot resume {folder}: it was saved by {len(ranks)} process(es), this run has {world_size}; "
            f"resume with the same number of processes (the data split depends on it)"
        )
    return ranks[rank]


# Fields a resumed run may change: where it writes, how long it runs, how often it logs and saves.
RESUMABLE_CHANGES = frozenset(
    {
        "output_dir",
        "resume_from",
        "max_steps",
        "progress_bar",
        "tensorboard",
        "checkpoint_every",
        "eval_every",
        "log_samples",
        "stop_at_step",
    }
)


def _value_before_added(name: str, recorded: dict[str, object]) -> object:
    """What a TrainConfig field added after a checkpoint was written meant then (so older checkpoints still
    resume under the same training); a sentinel for other fields."""
    from training.gan_losses import default_gan_loss

    prefix, _, field = name.rpartition(".")
    before = {"gan_step": "summed", "discriminator_loss_weight": 1.0}
    if field == "gan_loss":
        return default_gan_loss(str(recorded.get(f"{prefix}.discriminator" if prefix else "discriminator")))
    return before.get(field, _value_before_added)


def _flatten(config: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in config.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def check_resume_config(folder: str | Path, config: dict) -> None:
    """Refuse to resume `folder` under a config that changes what is trained or how (learning rate,
    loss, model, data selection...): the result would be neither run. Only RESUMABLE_CHANGES may differ."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        return  # checkpoints written before configs were recorded
    recorded = _flatten(json.loads(path.read_text()))
    current = _flatten(json.loads(json.dumps(config, sort_keys=True, default=str)))
    if not any(name.startswith("data.") for name in recorded):  # saved before data settings were recorded
        current = {name: value for name, value in current.items() if not name.startswith("data.")}
    changed = sorted(
        name
        for name in recorded.keys() | current.keys()
        if recorded.get(name, _value_before_added(name, recorded)) != current.get(name)
        and name.rpartition(".")[2] not in RESUMABLE_CHANGES
    )
    if changed:
        details = "; ".join(f"{name}: {recorded.get(name)!r} -> {current.get(name)!r}" for name in changed[:8])
        raise ValueError(
            f"cannot resume {folder} with a different config ({details}); start a new output_dir "
            f"or use the recorded settings"
        )
