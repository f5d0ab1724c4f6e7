"""The S3Diff-style simulator on tiny random SD-Turbo-like parts: identity additions, save/load, loading."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from transformers import CLIPTextModel

from training.condition import condition_vector
from training.models.simulator import CodecSimulator, predict_x0

CONDITION = torch.stack([condition_vector("x264", 0.3), condition_vector("vvenc", 1.2)])


def _parts(tiny_parts: dict) -> dict:
    return {
        "vae": AutoencoderKL.from_config(tiny_parts["vae_config"]),
        "unet": UNet2DConditionModel.from_config(tiny_parts["unet_config"]),
        "text_encoder": CLIPTextModel(tiny_parts["text_config"]),
        "tokenizer": tiny_parts["tokenizer"],
        "scheduler": DDPMScheduler.from_config(tiny_parts["scheduler_config"]),
    }


@torch.no_grad()
def _plain_backbone(parts: dict, image: torch.Tensor, prompts: list[str]) -> torch.Tensor:
    """SD-Turbo one step at t = 999 with no LoRA and no FiLM: the reference the simulator starts from."""
    vae, unet, tokenizer = parts["vae"], parts["unet"], parts["tokenizer"]
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, return_tensors="pt").input_ids
    text = parts["text_encoder"](ids)[0]
    latent = vae.encode(image).latent_dist.mode() * vae.config.scaling_factor
    eps = unet(latent, torch.full((image.shape[0],), 999), encoder_hidden_states=text).sample
    alpha_bar = parts["scheduler"].alphas_cumprod[999]
    x0 = (latent - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()
    return vae.decode(x0 / vae.config.scaling_factor).sample.clamp(-1, 1)


def test_at_initialisation_the_simulator_is_the_pretrained_backbone(tiny_parts: dict) -> None:
    parts = _parts(tiny_parts)
    reference_parts = copy.deepcopy(parts)
    simulator = CodecSimulator(**parts)
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    prompts = ["A libx264 0.3000 bpp compressed image.", "A libx266 1.2000 bpp compressed image."]  # its template
    with torch.no_grad():
        out = simulator(image, CONDITION)
    torch.testing.assert_close(out, _plain_backbone(reference_parts, image, prompts), rtol=1e-4, atol=1e-5)


def test_only_lora_conv_in_and_film_train(tiny_parts: dict) -> None:
    simulator = CodecSimulator.from_configs(**tiny_parts)
    trainable = [name for name, p in simulator.named_parameters() if p.requires_grad]
    assert any(".lora_A." in n and n.startswith("unet.") for n in trainable)
    assert any(".lora_A." in n and n.startswith("vae.encoder.") for n in trainable)
    assert "unet.conv_in.weight" in trainable and any(n.startswith("film.") for n in trainable)
    assert any(n.startswith("degradation.") for n in trainable)  # S3Diff's de / block / fuse MLPs
    assert all("lora_" in n or n.startswith(("unet.conv_in.", "film.", "degradation.")) for n in trainable)
    assert not any(n.startswith("degradation_estimator.") for n in trainable)  # DEResNet is frozen
    assert not any(n.startswith(("text_encoder.", "vae.decoder.")) for n in trainable)
    ranks = {n.split(".")[0]: p.shape[0] for n, p in simulator.named_parameters() if ".lora_A." in n}
    assert ranks == {"unet": 32, "vae": 16}
    assert not simulator.train().text_encoder.training and simulator.unet.training
    # FiLM hooks sit on the LoRA wrappers, so the LoRA branch is modulated too
    assert all(hasattr(module, "base_layer") for module in simulator.film.hooked_modules)


def test_condition_changes_output_and_gradients_flow(tiny_parts: dict) -> None:
    simulator = CodecSimulator.from_configs(**tiny_parts)
    with torch.no_grad():
        for mlp in simulator.film.mlps:
            mlp[-1].weight.normal_(0, 0.05)
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    a = simulator(image, condition_vector("x264", 0.3)[None], prompts=["same"])
    b = simulator(image, condition_vector("x264", 1.3)[None], prompts=["same"])
    assert (a - b).abs().max() > 1e-4  # FiLM alone (same prompt) moves the output
    (a - image).square().mean().backward()
    assert simulator.unet.conv_in.weight.grad.abs().sum() > 0
    assert simulator.film.mlps[0][-1].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="multiple of 4"):
        simulator(torch.zeros(1, 3, 30, 32), condition_vector("x264", 0.3)[None])


def test_trainable_weights_roundtrip_through_safetensors(tiny_parts: dict, tmp_path: Path) -> None:
    parts = _parts(tiny_parts)
    fresh_parts = copy.deepcopy(parts)
    trained = CodecSimulator(**parts)
    with torch.no_grad():
        for p in trained.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.01)
    trained.save_trainable(tmp_path / "simulator.safetensors")
    loaded = CodecSimulator(**fresh_parts)
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        before = loaded(image, CONDITION)
        loaded.load_trainable(tmp_path / "simulator.safetensors")
        assert not torch.allclose(before, trained(image, CONDITION))
        torch.testing.assert_close(loaded(image, CONDITION), trained(image, CONDITION))
    with pytest.raises(KeyError, match="missing"):
        loaded.load_trainable_state_dict({})


def test_from_pretrained_loads_a_saved_folder(tiny_parts: dict, tmp_path: Path) -> None:
    parts = _parts(tiny_parts)
    for name in ("vae", "unet", "text_encoder", "tokenizer", "scheduler"):
        parts[name].save_pretrained(tmp_path / "sd-turbo" / name)
    loaded = CodecSimulator.from_pretrained(tmp_path / "sd-turbo")
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        out = loaded(image, CONDITION[:1])
    torch.testing.assert_close(
        out, _plain_backbone(parts, image, ["A libx264 0.3000 bpp compressed image."]), rtol=1e-4, atol=1e-5
    )


def test_from_pretrained_names_what_is_missing(tiny_parts: dict, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="download stabilityai/sd-turbo to .*absent"):
        CodecSimulator.from_pretrained(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="not in the hub cache"):  # looks in the cache only, no network
        CodecSimulator.from_pretrained("someone/not-a-cached-model")
    parts = _parts(tiny_parts)
    for name in ("vae", "text_encoder", "tokenizer", "scheduler"):
        parts[name].save_pretrained(tmp_path / "partial" / name)
    with pytest.raises(FileNotFoundError, match=r"unet/config\.json"):
        CodecSimulator.from_pretrained(tmp_path / "partial")
    parts["unet"].save_pretrained(tmp_path / "partial" / "unet")
    for weights in (tmp_path / "partial" / "unet").glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(FileNotFoundError, match="unet/ weights"):
        CodecSimulator.from_pretrained(tmp_path / "partial")


def test_predict_x0_inverts_the_forward_process() -> None:
    x0, noise, alpha_bar = torch.randn(2, 4, 4, 4), torch.randn(2, 4, 4, 4), torch.tensor(0.3)
    latent = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
    torch.testing.assert_close(predict_x0(noise, latent, alpha_bar, "epsilon"), x0)
    velocity = alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * x0
    torch.testing.assert_close(predict_x0(velocity, latent, alpha_bar, "v_prediction"), x0)
