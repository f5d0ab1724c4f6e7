"""What every importer shares: read tensors only, check that every key lands, write our checkpoint folder.

An imported checkpoint is a folder like the ones our trainers write, minus the optimiser state:
``model.safetensors`` (the weights, named as our modules name them, with the prefix the role needs:
none for a simulator, ``generator.`` for SR, ``post.`` for post-processing), ``config.json`` (the
architecture record the loaders rebuild the network from) and ``imported.json`` (kind, source file,
its sha256). ``vrpsr eval --model checkpoint:OUT`` and ``vrpsr train ... --init-from OUT`` read it.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

MODEL_WEIGHTS = "model.safetensors"


class PublishedFileError(ValueError):
    """A published checkpoint that cannot be imported (unreadable, pickled code, wrong layout)."""


def read_tensors_only(path: str | Path, convert_hint: str = "") -> dict:
    """``torch.load(weights_only=True)``: containers of tensors, numbers and strings only.

    A file that needs code unpickled (e.g. a whole pickled nn.Module) is refused, naming the file; the
    message says how to turn it into a state dict where the code that wrote it is installed."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"published checkpoint {path} not found")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, ModuleNotFoundError) as error:
        reason = str(error).strip().splitlines()
        detail = next(
            (line for line in reason if "GLOBAL" in line or "Unsupported" in line), reason[0] if reason else ""
        )
        raise PublishedFileError(
            f"{path} needs code unpickled to load ({detail.strip()[:200]}); vrpsr reads tensors only "
            f"(torch.load(weights_only=True)) and does not run code from checkpoint files. {convert_hint}".strip()
        ) from None
    if not isinstance(content, dict):
        raise PublishedFileError(f"{path} holds a {type(content).__name__}, not a dict of weights")
    return content


def tensors_of(section: object, where: str) -> dict[str, torch.Tensor]:
    """A state-dict section as {name: tensor}; PublishedFileError naming `where` when it is not one."""
    if not isinstance(section, dict) or not all(isinstance(v, torch.Tensor) for v in section.values()):
        raise PublishedFileError(f"{where} is not a state dict of tensors")
    return {str(name): value.detach().clone() for name, value in section.items()}


def check_keys(
    expected: dict[str, torch.Tensor], mapped: dict[str, torch.Tensor], source: str, may_miss: tuple[str, ...] = ()
) -> None:
    """Every expected weight present (except names starting with `may_miss`), nothing left over, shapes equal."""
    missing = sorted(name for name in expected if name not in mapped and not name.startswith(may_miss))
    unexpected = sorted(name for name in mapped if name not in expected)
    if missing or unexpected:
        raise PublishedFileError(
            f"{source} does not fit the model: {len(missing)} missing ({missing[:4]}), "
            f"{len(unexpected)} unexpected ({unexpected[:4]})"
        )
    wrong = [
        f"{name}: {tuple(mapped[name].shape)} vs {tuple(value.shape)}"
        for name, value in expected.items()
        if name in mapped and mapped[name].shape != value.shape
    ]
    if wrong:
        raise PublishedFileError(f"{source} does not fit the model (shapes): {wrong[:4]}")


def load_into(model: nn.Module, mapped: dict[str, torch.Tensor], source: str, may_miss: tuple[str, ...] = ()) -> None:
    """Check `mapped` against model.trainable_state_dict() (or state_dict()) and load it; names in
    `may_miss` keep the model's own values (e.g. the condition MLPs S3Diff does not have: zero)."""
    expected = model.trainable_state_dict() if hasattr(model, "trainable_state_dict") else model.state_dict()
    check_keys(expected, mapped, source, may_miss)
    complete = {name: mapped.get(name, value) for name, value in expected.items()}
    if hasattr(model, "load_trainable_state_dict"):
        model.load_trainable_state_dict(complete)
    else:
        model.load_state_dict(complete)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checkpoint(
    out: str | Path, weights: dict[str, torch.Tensor], config: dict, kind: str, sources: list[str | Path]
) -> Path:
    """Write OUT/model.safetensors, config.json, imported.json (via OUT.partial, renamed when complete)."""
    out = Path(out).expanduser()
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not empty: give a new folder for the imported checkpoint")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_file({name: tensor.contiguous() for name, tensor in weights.items()}, str(partial / MODEL_WEIGHTS))
    (partial / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
    record = {
        "kind": kind,
        "sources": [
            {"file": str(Path(s).expanduser().resolve()), "sha256": sha256_of(Path(s).expanduser())} for s in sources
        ],
    }
    (partial / "imported.json").write_text(json.dumps(record, indent=2))
    if out.exists():
        out.rmdir()
    partial.rename(out)
    return out


def prefixed(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + name: tensor for name, tensor in state.items()}
