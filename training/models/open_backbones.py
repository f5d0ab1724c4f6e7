"""SR networks named by the user: ``py:MODULE:ATTR`` (+ kwargs) and ``spandrel:FILE.pth``, made codec-aware.

  py:MODULE:ATTR     ATTR is an nn.Module class or a factory returning one, called with the recorded
                     kwargs (``--backbone-kwargs``); random initial weights (seeded), or --init-weights.
  spandrel:FILE      a published .pth / .safetensors whose architecture spandrel detects (ESRGAN,
                     Real-ESRGAN Compact, SwinIR, HAT, DAT, SPAN, ...): the file's weights are the start.

``resolved_generator_spec`` fills in what a run records so every loader rebuilds the same network with
no flags: the discovered scale, the condition adapter, and for spandrel its architecture id, class,
hyper-parameters, scale, size multiple and the file's sha256. A checkpoint rebuilds a spandrel network
from that record (its class called with the hyper-parameters) and loads its own weights over it, so the
source file is needed only to start a run (or to rebuild a run that kept the network frozen).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from training.checkpoint_import.common import sha256_of
from training.models.backbone import ConditionedBackbone, discovered_scale, takes_condition
from training.models.condition_adapter import (
    ADAPTER_KINDS,
    DEFAULT_MODULES,
    FALLBACK_MODULES,
    build_adapter,
    parse_condition,
)

OPEN_SOURCES = ("py", "spandrel")


def open_source(backbone: str) -> str | None:
    """ "py" or "spandrel" for a named network (``py:...``, ``spandrel:...``), None for a built-in one."""
    source, separator, _ = backbone.partition(":")
    return source if separator and source in OPEN_SOURCES else None


def python_backbone(backbone: str, kwargs: dict | None) -> nn.Module:
    """``py:MODULE:ATTR`` -> ATTR(**kwargs) (a class or factory) or ATTR itself when it is a module."""
    module_name, _, attribute = backbone.removeprefix("py:").partition(":")
    if not module_name or not attribute:
        raise ValueError(f"backbone {backbone!r}: expected py:package.module:Attribute")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"backbone {backbone!r} cannot be imported: {error}") from None
    network = found if isinstance(found, nn.Module) else found(**(kwargs or {}))
    if not isinstance(network, nn.Module):
        raise ValueError(f"backbone {backbone!r} gave a {type(network).__name__}, not a torch nn.Module")
    return network


def spandrel_file_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A published file's state dict, tensors only (torch.load(weights_only=True), or safetensors)."""
    from spandrel import canonicalize_state_dict

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"spandrel backbone file {path} not found: put the published .pth or .safetensors there, or train a "
            "network without published weights: --backbone rrdbnet (or py:package.module:Factory)"
        )
    if path.suffix == ".safetensors":
        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure: the file needs code to load
        raise ValueError(f"{path} is not a tensors-only .pth (torch.load weights_only=True: {error})") from None
    return canonicalize_state_dict(state)


def spandrel_network(state: dict[str, torch.Tensor], where: str):
    """spandrel's ImageModelDescriptor for `state`; ValueError naming `where` when no SR architecture fits."""
    from spandrel import MAIN_REGISTRY, ImageModelDescriptor, UnsupportedModelError

    try:
        descriptor = MAIN_REGISTRY.load(state)
    except UnsupportedModelError:
        raise ValueError(f"{where}: spandrel recognises no architecture in these weights") from None
    if not isinstance(descriptor, ImageModelDescriptor) or descriptor.input_channels != 3:
        raise ValueError(f"{where}: {descriptor.architecture.id} is not an RGB image-to-image network")
    return descriptor


def json_safe(value: object) -> object:
    """Hyper-parameters as JSON: tuples -> lists, classes -> module.Name, other objects -> repr."""
    if isinstance(value, dict):
        return {str(name): json_safe(item) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)


def spandrel_record(descriptor, source: Path) -> dict:
    network = descriptor.model
    return {
        "architecture": str(descriptor.architecture.id),
        "class": f"{type(network).__module__}:{type(network).__qualname__}",
        "hyperparameters": json_safe(getattr(descriptor.model, "hyperparameters", {})),
        "scale": int(descriptor.scale),
        "size_multiple": int(descriptor.size_requirements.multiple_of),
        "file": str(source.expanduser().resolve()),
        "sha256": sha256_of(source.expanduser()),
    }


def check_spandrel_source(recorded: dict, found: dict, where: str) -> None:
    """The file read now must be the one the run recorded (sha256; hence architecture and hyper-parameters)."""
    for name in ("sha256", "architecture"):
        if name in recorded and recorded[name] != found[name]:
            raise ValueError(f"{where} is not the file this run recorded ({name} {recorded[name]} -> {found[name]})")


def spandrel_from_record(record: dict, where: str) -> nn.Module:
    """The recorded class called with the recorded hyper-parameters (random weights: a checkpoint's follow).
    A hyper-parameter JSON could not hold (a class, e.g. SwinIR's norm_layer) must be the class's default."""
    module_name, _, qualname = str(record.get("class", "")).partition(":")
    try:
        network_class = getattr(importlib.import_module(module_name), qualname)
    except (ImportError, AttributeError, ValueError):
        raise ValueError(f"{where}: recorded spandrel class {record.get('class')!r} cannot be imported") from None
    defaults = {name: p.default for name, p in inspect.signature(network_class).parameters.items()}
    arguments = {}
    for name, value in record.get("hyperparameters", {}).items():
        default = defaults.get(name)
        stored_as_text = not isinstance(default, (bool, int, float, str, list, tuple, dict, type(None)))
        if stored_as_text and json_safe(default) != value:
            raise ValueError(f"{where}: recorded hyper-parameter {name}={value!r} cannot be rebuilt from the record")
        arguments[name] = default if stored_as_text else value
    return network_class(**arguments)


def _named_network(spec, structure_only: bool) -> tuple[nn.Module, int, str, dict | None]:
    """(network, size multiple, default condition modules, spandrel record or None)."""
    if open_source(spec.backbone) == "py":
        network = python_backbone(spec.backbone, spec.backbone_kwargs)
        return network, int(getattr(network, "size_multiple", 1)), FALLBACK_MODULES, None
    if structure_only and spec.spandrel:
        record, where = spec.spandrel, f"generator {spec.backbone}"
        network = spandrel_from_record(record, where)
    else:
        file = Path(spec.backbone.removeprefix("spandrel:")).expanduser()
        descriptor = spandrel_network(spandrel_file_state(file), str(file))
        network, record = descriptor.model, spandrel_record(descriptor, file)
        if spec.spandrel:
            check_spandrel_source(spec.spandrel, record, str(file))
    return network, record["size_multiple"], DEFAULT_MODULES.get(record["architecture"], FALLBACK_MODULES), record


def _condition_of(spec, native: bool, default_modules: str) -> str:
    """The condition spec to build and record: given, else native / bias on the default modules; --no-embed: none."""
    condition = "none" if not spec.embed else spec.condition or ("native" if native else "bias")
    kind, modules = parse_condition(condition)
    if kind == "native" and not native:
        raise ValueError(f"{spec.backbone}: condition 'native' needs forward(lq, condition); this one takes lq only")
    if kind == "none" and native:
        raise ValueError(f"{spec.backbone} takes the condition itself (forward(lq, condition)): use 'native'")
    return f"{kind}:{default_modules}" if kind in ADAPTER_KINDS and modules is None else condition


def build_open_generator(spec, structure_only: bool = False) -> ConditionedBackbone:
    """g_phi for a ``py:`` or ``spandrel:`` GeneratorSpec. `structure_only`: a checkpoint's weights follow, so a
    recorded spandrel network is built from its record, not read from its source file."""
    network, size_multiple, default_modules, record = _named_network(spec, structure_only)
    native = takes_condition(network)
    condition = _condition_of(spec, native, default_modules)
    scale = record["scale"] if record else discovered_scale(network, size_multiple, native)
    if scale != spec.scale:
        raise ValueError(f"{spec.backbone} is a x{scale} network, but the generator record says scale {spec.scale}")
    adapter = build_adapter(network, condition, default_modules, size_multiple, native)
    return ConditionedBackbone(network, scale, size_multiple, native, adapter)


def resolved_generator_spec(spec):
    """`spec` with what a run records for a named network: scale, condition and (spandrel) the source record.
    Built-in backbones are returned unchanged."""
    if open_source(spec.backbone) is None:
        return spec
    network, size_multiple, default_modules, record = _named_network(spec, False)
    native = takes_condition(network)
    scale = record["scale"] if record else discovered_scale(network, size_multiple, native)
    return replace(spec, scale=scale, condition=_condition_of(spec, native, default_modules), spandrel=record)
