"""FiLM hooks on diffusers ResnetBlock2D: identity at initialisation, conditioning once trained."""

from __future__ import annotations

import copy

import pytest
import torch
from diffusers import UNet2DConditionModel
from diffusers.models.resnet import ResnetBlock2D
from torch import nn

from tests.training.conftest import tiny_unet_config
from training.models.film import attach_film, resnet_blocks


class TwoBlocks(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = ResnetBlock2D(in_channels=8, out_channels=16, temb_channels=None, groups=4)
        self.second = ResnetBlock2D(in_channels=16, out_channels=16, temb_channels=None, groups=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x, None), None)


def test_zero_initialised_film_is_the_identity() -> None:
    model, x = TwoBlocks(), torch.randn(2, 8, 8, 8)
    before = model(x)
    film = attach_film(model, embed_dim=12)
    film.set_condition(torch.randn(2, 12))
    assert len(film.mlps) == 2
    assert torch.equal(model(x), before)


def test_trained_film_conditions_and_receives_gradients() -> None:
    model, x = TwoBlocks(), torch.randn(2, 8, 8, 8)
    film = attach_film(model, embed_dim=12)
    with torch.no_grad():
        for mlp in film.mlps:
            mlp[-1].weight.normal_(0, 0.1)
    film.set_condition(torch.randn(1, 12))
    out_a = model(x)
    film.set_condition(torch.randn(1, 12))
    out_b = model(x)
    assert not torch.allclose(out_a, out_b)
    out_b.square().mean().backward()
    assert all(mlp[0].weight.grad.abs().sum() > 0 for mlp in film.mlps)


def test_forward_without_condition_names_the_block() -> None:
    model = TwoBlocks()
    attach_film(model, embed_dim=4)
    with pytest.raises(RuntimeError, match="first"):
        model(torch.randn(1, 8, 8, 8))


def test_remove_detaches_and_errors_name_the_problem() -> None:
    model, x = TwoBlocks(), torch.randn(1, 8, 8, 8)
    film = attach_film(model, embed_dim=4)
    film.remove()
    assert model(x).shape == (1, 16, 8, 8)  # no condition needed any more
    with pytest.raises(ValueError, match="ResnetBlock2D"):
        attach_film(nn.Conv2d(3, 3, 3), embed_dim=4)
    with pytest.raises(ValueError, match="B x 4"):
        film.set_condition(torch.zeros(1, 5))


def test_every_unet_resnet_block_is_hooked_and_deepcopy_rebinds() -> None:
    unet = UNet2DConditionModel.from_config(tiny_unet_config())
    film = attach_film(unet, embed_dim=16)
    assert len(film.mlps) == len(resnet_blocks(unet)) == 8
    copied = copy.deepcopy(nn.ModuleDict({"unet": unet, "film": film}))
    hook = next(iter(copied["unet"].down_blocks[0].resnets[0].conv2._forward_hooks.values()))
    assert hook.controller is copied["film"]
