"""The S3Diff backbone's parts and options on tiny random SD-Turbo-shaped models."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from training.condition import condition_vector
from training.models.s3diff.lora import (
    DegradationLoRA,
    is_unet_target,
    is_vae_target,
    unet_block_index,
    vae_block_index,
)
from training.models.s3diff.settings import S3DiffSettings
from training.models.simulator import CodecSimulator
from training.models.sr_s3diff import S3DiffSR

CONDITION = torch.stack([condition_vector("x264", 0.3), condition_vector("x265", 1.1)])


def test_lora_targets_and_blocks_follow_the_published_lists() -> None:
    assert is_unet_target("down_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj")
    assert is_unet_target("up_blocks.0.upsamplers.0.conv") and is_unet_target("conv_out")
    assert not is_unet_target("conv_in") and not is_unet_target("time_embedding.linear_1")
    assert is_vae_target("encoder.down_blocks.0.downsamplers.0.conv") and is_vae_target("encoder.conv_in")
    assert not is_vae_target("decoder.up_blocks.0.resnets.0.conv1") and not is_vae_target("quant_conv")
    assert not is_vae_target("encoder.conv_norm_out")
    assert [
        unet_block_index(n)
        for n in (
            "down_blocks.3.resnets.0.conv1",
            "mid_block.attentions.0.proj_in",
            "up_blocks.2.resnets.1.conv2",
            "conv_out",
        )
    ] == [3, 4, 7, 9]
    assert [
        vae_block_index(n)
        for n in ("encoder.down_blocks.2.resnets.0.conv1", "encoder.mid_block.resnets.0.conv1", "encoder.conv_out")
    ] == [2, 4, 5]


def test_degradation_lora_is_plain_lora_with_the_identity_and_mixes_ranks_otherwise() -> None:
    base = nn.Conv2d(6, 5, 3, 2, 1)
    lora = DegradationLoRA(base, rank=4, alpha=8.0)
    nn.init.normal_(lora.lora_B.weight)
    x = torch.randn(2, 6, 9, 9)
    plain = base(x) + lora.lora_B(lora.lora_A(x)) * 2.0  # scaling alpha / rank
    lora.set_modulation(torch.eye(4).expand(2, 4, 4))
    torch.testing.assert_close(lora(x), plain)
    lora.set_modulation(torch.randn(2, 4, 4))
    assert (lora(x) - plain).abs().max() > 1e-3
    lora.set_modulation(None)
    with pytest.raises(RuntimeError, match="no modulation"):
        lora(x)
    lora.guided = False
    torch.testing.assert_close(lora(x), plain)
    linear = DegradationLoRA(nn.Linear(6, 3), rank=4, alpha=4.0)
    linear.set_modulation(torch.eye(4).expand(2, 4, 4))
    tokens = torch.randn(2, 7, 6)
    torch.testing.assert_close(linear(tokens), linear.base_layer(tokens))  # B starts at zero


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"modulation": "film", "embedding": "ours"},
        {"degradation_guided": False},
        {"modulation": "none"},
        {"latent": "sample", "condition_units": "official-kB"},
    ],
)
def test_every_option_builds_trains_and_is_conditioned(tiny_parts: dict, options: dict) -> None:
    model = CodecSimulator.from_configs(**tiny_parts, settings=S3DiffSettings(**options))
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert ("degradation.unet_fuse_mlp.weight" in trainable) == model.settings.degradation_guided
    assert any(name.startswith("film.") for name in trainable) == (model.settings.modulation != "none")
    with torch.no_grad():  # trained-looking weights, so that every path changes the output
        for name, parameter in model.named_parameters():
            if parameter.requires_grad and ("lora_B" in name or name.startswith(("film.", "degradation."))):
                parameter.normal_(0, 0.05)
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    torch.manual_seed(1)
    out = model(image, CONDITION)
    out.square().mean().backward()
    assert model.unet.conv_in.weight.grad.abs().sum() > 0
    if model.settings.degradation_guided:
        assert model.degradation.unet_fuse_mlp.weight.grad.abs().sum() > 0
        assert all(p.grad is None for p in model.degradation_estimator.parameters())
    with torch.no_grad():
        torch.manual_seed(1)
        other = model(image, torch.stack([condition_vector("vvenc", 0.05), condition_vector("x264", 2.0)]))
    assert (other - out).abs().max() > 1e-4  # the condition reaches the output (prompt and / or vector)


def test_the_sr_model_scores_the_lq_at_its_own_size_and_drops_its_condition_vector(tiny_parts: dict) -> None:
    model = S3DiffSR.from_configs(**tiny_parts, settings=S3DiffSettings(degradation_input_scale=4))
    seen = []
    model.degradation_estimator.register_forward_hook(lambda _m, inputs, _o: seen.append(inputs[0].shape))
    with torch.no_grad():
        assert model(torch.rand(2, 3, 32, 32), CONDITION).shape == (2, 3, 32, 32)
    assert seen == [torch.Size([2, 3, 8, 8])]
    assert model.codec_aware and not model.disable_embedding().codec_aware
    assert not any(p.requires_grad for p in model.film.parameters())
