"""Condition adapters on any network: at initialisation the conditioned model is exactly the backbone."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.training.backbones.spandrel_files import spandrel_file
from training.models.build import GeneratorSpec, build_generator
from training.models.condition_adapter import matching_modules, parse_condition
from training.models.open_backbones import resolved_generator_spec

NETWORKS = "py:tests.training.backbones.networks:PictureOnlyNet"
CASES = [
    (NETWORKS, "bias"),
    (NETWORKS, "film"),
    (NETWORKS, "film:head"),
    ("ESRGAN", "bias"),  # the paper's Real-ESRGAN way: after each RRDB's first two dense blocks
    ("ESRGAN", "film:Conv2d"),
    ("Compact", "bias"),
    ("Compact", "film"),
    ("SwinIR", "bias"),
    ("SwinIR", "film:layers.*.residual_group.blocks.*.mlp"),  # channel-last (B x N x C) outputs
]
CONDITIONS = torch.tensor([[1.0, 0.0, 0.0, 0.3], [0.0, 0.0, 1.0, 1.2]])


def _generator(backbone: str, condition: str, folder: Path) -> torch.nn.Module:
    name = backbone if backbone.startswith("py:") else f"spandrel:{spandrel_file(backbone, folder)}"
    return build_generator(resolved_generator_spec(GeneratorSpec(backbone=name, condition=condition)))


@pytest.mark.parametrize("backbone, condition", CASES)
def test_conditioned_model_equals_the_backbone_at_initialisation(backbone, condition, tmp_path: Path) -> None:
    generator = _generator(backbone, condition, tmp_path).eval()
    assert generator.adapter is not None and generator.adapter.kind == condition.partition(":")[0]
    lq = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        plain = generator.backbone(lq)
        assert torch.equal(generator(lq, CONDITIONS), plain)
        for head in generator.adapter.heads:  # trained heads: the condition now changes the output
            head[-1].weight.normal_(0, 0.1)
        conditioned = generator(lq, CONDITIONS)
        assert (conditioned - plain).abs().max() > 1e-4
        assert (conditioned[0] - generator(lq, CONDITIONS.flip(0))[0]).abs().max() > 1e-4
        assert torch.equal(generator.backbone(lq), plain)  # hooks are gone after each forward


def test_condition_aware_network_gets_the_condition_and_no_adapter() -> None:
    spec = resolved_generator_spec(GeneratorSpec(backbone="py:tests.training.backbones.networks:ConditionAwareNet"))
    assert spec.condition == "native" and spec.scale == 4
    generator = build_generator(spec).eval()
    lq = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        assert generator.adapter is None
        assert torch.equal(generator(lq, CONDITIONS), generator.backbone(lq, CONDITIONS))


def test_condition_specs_and_module_selection() -> None:
    assert parse_condition("bias:body.*.rdb1,Conv2d") == ("bias", "body.*.rdb1,Conv2d")
    assert parse_condition("none") == ("none", None)
    with pytest.raises(ValueError, match="expected none, native, bias"):
        parse_condition("scale:Conv2d")
    spec = resolved_generator_spec(GeneratorSpec(backbone=NETWORKS))
    assert spec.condition == "bias:Conv2d"  # the default, recorded explicitly
    network = build_generator(spec).backbone
    assert matching_modules(network, "Conv2d") == ["head", "tail"]
    with pytest.raises(ValueError, match="match no module of PictureOnlyNet .*named like head, tail"):
        matching_modules(network, "body.*")
    none = build_generator(resolved_generator_spec(GeneratorSpec(backbone=NETWORKS, embed=False)))
    assert none.adapter is None and not none.native  # --no-embed: the unconditioned network
