"""vrpsr_realesrgan (its state dict) and de_net.pth: every tensor lands, the forward equals the public one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from tests.training.published_s3diff import published_de_net
from training.checkpoint_import import import_de_net, import_vrpsr_realesrgan
from training.checkpoint_import.vrpsr_realesrgan import official_rrdbnet
from training.condition import condition_vector
from training.inference import load_sr_checkpoint
from training.models.rrdbnet import RRDBNet
from training.models.s3diff.de_net import DEResNet


def _published_state(num_block: int) -> dict:
    """RRDBNetEmbeddingProj(scale=1)'s state dict: Real-ESRGAN's names plus body.i.eb1 / eb2, random."""
    state = {"conv_first.weight": torch.randn(64, 48, 3, 3) * 0.05, "conv_first.bias": torch.randn(64) * 0.01}
    for block in range(num_block):
        for rdb in (1, 2, 3):
            for conv in range(1, 6):
                inputs, outputs = 64 + 32 * (conv - 1), 64 if conv == 5 else 32
                state[f"body.{block}.rdb{rdb}.conv{conv}.weight"] = torch.randn(outputs, inputs, 3, 3) * 0.03
                state[f"body.{block}.rdb{rdb}.conv{conv}.bias"] = torch.randn(outputs) * 0.01
        for head in ("eb1", "eb2"):
            for layer in (0, 2):
                state[f"body.{block}.{head}.{layer}.weight"] = torch.randn(64, 64) * 0.1
                state[f"body.{block}.{head}.{layer}.bias"] = torch.randn(64) * 0.1
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        state[f"{name}.weight"], state[f"{name}.bias"] = torch.randn(64, 64, 3, 3) * 0.03, torch.randn(64) * 0.01
    state["conv_last.weight"], state["conv_last.bias"] = torch.randn(3, 64, 3, 3) * 0.03, torch.randn(3) * 0.01
    return state


def _official_embedding(temb: torch.Tensor, num_feat: int = 64) -> torch.Tensor:
    """The official get_embedding: each of the 4 scalars by its get_timestep_embedding into num_feat // 4
    dims (sin then cos, frequencies exp(-ln(10000) k / (half - 1)), k < half), concatenated."""
    half = num_feat // 4 // 2
    frequencies = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / (half - 1))
    parts = []
    for index in range(4):
        angles = temb[:, index][:, None].float() * frequencies[None, :]
        parts.append(torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1))
    return torch.cat(parts, dim=1)


def _public_forward(state: dict, x: torch.Tensor, temb: torch.Tensor, num_block: int) -> torch.Tensor:
    """RRDBNetEmbeddingProj(scale=1).forward of the official rrdbnet_arch.py, line by line over its state dict."""

    def conv(name, h):
        return F.conv2d(h, state[f"{name}.weight"], state[f"{name}.bias"], padding=1)

    def linear(name, h):
        return F.linear(h, state[f"{name}.weight"], state[f"{name}.bias"])

    def rdb(name, h):  # ResidualDenseBlock.forward
        x1 = F.leaky_relu(conv(f"{name}.conv1", h), 0.2)
        x2 = F.leaky_relu(conv(f"{name}.conv2", torch.cat((h, x1), 1)), 0.2)
        x3 = F.leaky_relu(conv(f"{name}.conv3", torch.cat((h, x1, x2), 1)), 0.2)
        x4 = F.leaky_relu(conv(f"{name}.conv4", torch.cat((h, x1, x2, x3), 1)), 0.2)
        return conv(f"{name}.conv5", torch.cat((h, x1, x2, x3, x4), 1)) * 0.2 + h

    def block(name, h, block_temb):  # RRDBEmbedProj.forward
        embedding = _official_embedding(block_temb)
        out = rdb(f"{name}.rdb1", h)
        out = out + linear(f"{name}.eb1.2", F.silu(linear(f"{name}.eb1.0", embedding)))[:, :, None, None]
        out = rdb(f"{name}.rdb2", out)
        out = out + linear(f"{name}.eb2.2", F.silu(linear(f"{name}.eb2.0", embedding)))[:, :, None, None]
        out = rdb(f"{name}.rdb3", out)
        return out * 0.2 + h

    b, c, hh, ww = x.shape  # pixel_unshuffle(x, scale=4)
    feat = x.view(b, c, hh // 4, 4, ww // 4, 4).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 16, hh // 4, ww // 4)
    feat = conv("conv_first", feat)
    for index in range(num_block):
        feat = block(f"body.{index}", feat, temb)
    body_feat = conv("conv_body", feat)
    feat = feat + body_feat  # the official long skip: the trunk (feat was overwritten by the loop) plus conv_body
    feat = F.leaky_relu(conv("conv_up1", F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
    feat = F.leaky_relu(conv("conv_up2", F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
    return conv("conv_last", F.leaky_relu(conv("conv_hr", feat), 0.2))


def test_realesrgan_state_dict_imports_and_matches_the_public_forward(tmp_path: Path) -> None:
    state = _published_state(num_block=2)
    torch.save(state, tmp_path / "vrpsr_realesrgan_state.pth")
    model = official_rrdbnet(num_block=2)
    out = import_vrpsr_realesrgan(tmp_path / "vrpsr_realesrgan_state.pth", tmp_path / "sr", model=model)
    saved = load_file(str(out / "model.safetensors"))
    assert len(saved) == len(state)  # one to one, nothing added or dropped
    assert torch.equal(saved["generator.body.1.codec_heads.1.2.weight"], state["body.1.eb2.2.weight"])
    image = torch.rand(2, 3, 32, 32)
    bpp = torch.tensor([0.5, 1.25])
    condition = torch.stack([condition_vector("x264", 0.5), condition_vector("vvenc", 1.25)])
    kilobytes = torch.cat([condition[:, :3], (bpp * 32 * 32 / 8000)[:, None]], dim=1)
    with torch.no_grad():
        expected = _public_forward(state, image, kilobytes, num_block=2)
        assert (model(image, condition) - expected).abs().max() <= 1e-5
        other = kilobytes.clone()
        other[:, 3] = other[:, 3] * 3 + 1  # the condition heads are non-zero: another rate changes the output
        assert (_public_forward(state, image, other, num_block=2) - expected).abs().max() > 1e-3
        esrgan_skip = RRDBNet(scale=1, num_block=2, embedding="vrpsr", condition_units="official-kB")
        esrgan_skip.load_state_dict(model.state_dict())  # ESRGAN's long skip: the test sees the difference
        assert (esrgan_skip(image, condition) - expected).abs().max() > 1e-3
    generator = json.loads((out / "config.json").read_text())["generator"]
    assert generator["rrdbnet_embedding"] == "vrpsr" and generator["condition_units"] == "official-kB"
    assert generator["long_skip"] == "vrpsr-official" and generator["output_mapping"] == "vrpsr-official"
    resolver = load_sr_checkpoint(str(out))  # the evaluation plug-in rebuilds it from the record
    picture = (image[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    with torch.no_grad():  # the official inference maps the output by clamp(-1, 1) * 0.5 + 0.5 before the codec
        output = model(torch.from_numpy(picture).permute(2, 0, 1)[None].float() / 255, condition[:1])
        direct = ((output.clamp(-1, 1) * 0.5 + 0.5) * 255).round()[0].permute(1, 2, 0).to(torch.uint8).numpy()
    assert (resolver(picture, "x264", 0.5) == direct).all()


def test_de_net_imports_and_matches_the_public_forward(tmp_path: Path) -> None:
    state = {name: value + 0.05 * torch.randn_like(value) for name, value in DEResNet().state_dict().items()}
    torch.save(state, tmp_path / "de_net.pth")
    out = import_de_net(tmp_path / "de_net.pth", tmp_path / "de")
    saved = load_file(str(out / "model.safetensors"))
    assert set(saved) == {f"degradation_estimator.{name}" for name in state}
    ours = DEResNet()
    ours.load_state_dict({name.removeprefix("degradation_estimator."): v for name, v in saved.items()})
    picture = torch.rand(2, 3, 24, 20)
    with torch.no_grad():
        assert (ours(picture) - published_de_net(state, picture)).abs().max() <= 1e-6
