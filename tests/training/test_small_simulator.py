"""The small conditional UNet simulator: identity at start, conditioned through the shared FiLM."""

from __future__ import annotations

import pytest
import torch

from training.condition import condition_vector
from training.models.film import resnet_blocks
from training.models.small_simulator import SmallSimulator


def test_default_size_is_a_few_million_parameters_and_every_block_has_film() -> None:
    model = SmallSimulator()
    assert 1e6 < sum(p.numel() for p in model.parameters()) < 8e6
    assert len(model.film.mlps) == len(resnet_blocks(model)) == 14
    assert model.film.embed_dim == 256


def test_starts_as_the_identity_and_keeps_the_shape() -> None:
    model = SmallSimulator(channels=(8, 16, 32), blocks_per_level=1, dims_per_scalar=8, groups=4)
    image = torch.rand(2, 3, 32, 48) * 2 - 1
    condition = torch.stack([condition_vector("x264", 0.2), condition_vector("vvenc", 1.0)])
    assert torch.equal(model(image, condition), image)
    with pytest.raises(ValueError, match="multiple of 4"):
        model(torch.zeros(1, 3, 30, 32), condition[:1])


def test_condition_reaches_the_output_once_trained() -> None:
    model = SmallSimulator(channels=(8, 16), blocks_per_level=1, dims_per_scalar=8, groups=4)
    with torch.no_grad():
        model.conv_out[-1].weight.normal_(0, 0.1)
        for mlp in model.film.mlps:
            mlp[-1].weight.normal_(0, 0.1)
    image = torch.rand(1, 3, 16, 16) * 2 - 1
    low = model(image, condition_vector("x265", 0.1)[None])
    high = model(image, condition_vector("x265", 1.5)[None])
    other_codec = model(image, condition_vector("x264", 0.1)[None])
    assert (low - high).abs().max() > 1e-3 and (low - other_codec).abs().max() > 1e-3
    low.mean().backward()
    assert model.film.mlps[0][0].weight.grad.abs().sum() > 0
