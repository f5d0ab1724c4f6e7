"""Importing S3Diff-layout files (s3diff.pkl, simulator.pkl, vrpsr_s3diff.pkl, post_sr.pkl) written by a
re-implementation of the public code on tiny random SD-Turbo-shaped parts: every tensor lands, the forward
equals the public forward, the safetensors round trip is exact."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from safetensors.torch import load_file
from transformers import CLIPTextModel

from tests.training.published_s3diff import PublishedS3Diff, published_de_net
from training.checkpoint_import import import_post_sr, import_s3diff, import_simulator, import_vrpsr_s3diff
from training.checkpoint_import.common import PublishedFileError
from training.checkpoint_import.presets import official_vrpsr, s3diff_baseline
from training.condition import condition_vector
from training.models.s3diff.de_net import DEResNet
from training.models.simulator import CodecSimulator
from training.models.sr_s3diff import S3DiffSR

BPP = (2.5, 0.625)  # on 32 x 32: 0.32 and 0.08 kB, exact in float32 and in "{:.4f}"


def _parts(tiny_parts: dict) -> dict:
    return {
        "vae": AutoencoderKL.from_config(tiny_parts["vae_config"]),
        "unet": UNet2DConditionModel.from_config(tiny_parts["unet_config"]),
        "text_encoder": CLIPTextModel(tiny_parts["text_config"]),
        "tokenizer": tiny_parts["tokenizer"],
        "scheduler": DDPMScheduler.from_config(tiny_parts["scheduler_config"]),
    }


def _published(tiny_parts: dict, tmp_path: Path, meta: bool) -> tuple[PublishedS3Diff, dict, dict, Path, Path]:
    """(public model, a copy of its SD-Turbo parts, de_net state, its .pkl, de_net.pth)."""
    parts = _parts(tiny_parts)
    base = copy.deepcopy(parts)
    reference = PublishedS3Diff(**parts, meta=meta)
    de_state = {name: value + 0.01 * torch.randn_like(value) for name, value in DEResNet().state_dict().items()}
    reference.save_model(tmp_path / "published.pkl")
    torch.save(de_state, tmp_path / "de_net.pth")
    return reference, base, de_state, tmp_path / "published.pkl", tmp_path / "de_net.pth"


def _condition() -> torch.Tensor:
    return torch.stack([condition_vector("x264", BPP[0]), condition_vector("vvenc", BPP[1])])


def _public_forward(
    reference: PublishedS3Diff,
    de_state: dict,
    image: torch.Tensor,
    meta: bool,
    de_input: torch.Tensor,
    prompts: list[str],
    **guidance,
) -> torch.Tensor:
    kilobytes = torch.tensor(BPP) * 32 * 32 / 8000
    meta_vec = torch.cat([_condition()[:, :3], kilobytes[:, None]], dim=1) if meta else None
    torch.manual_seed(5)
    with torch.no_grad():
        return reference(image, published_de_net(de_state, de_input), prompts, meta_vec, **guidance)


def test_simulator_pkl_lands_every_tensor_and_runs_the_public_forward(tiny_parts: dict, tmp_path: Path) -> None:
    reference, base, de_state, pkl, de_pth = _published(tiny_parts, tmp_path, meta=True)
    pristine = copy.deepcopy(base)
    ours = CodecSimulator(**base, settings=official_vrpsr(1))
    out = import_simulator(pkl, tmp_path / "sim", de_net=de_pth, model=ours, pretrained="sd-turbo-folder")
    published = torch.load(pkl, weights_only=True)
    saved = load_file(str(out / "model.safetensors"))
    assert set(saved) == set(ours.trainable_state_dict())  # every saved weight is one the model has...
    count = sum(len(published[k]) for k in published if k.startswith("state_dict_")) + 1 + 2 + len(de_state)
    assert len(saved) == count  # ...and every published tensor (+ W, 2 block embeddings, DEResNet) is one of them
    torch.testing.assert_close(saved["degradation.fourier_basis"], published["w"].detach())
    name = next(k for k in published["state_dict_unet"] if k.endswith("resnets.0.mlp.2.weight"))
    index = ours.film.block_names.index(name.removesuffix(".mlp.2.weight"))
    torch.testing.assert_close(saved[f"film.mlps.{index}.2.weight"], published["state_dict_unet"][name])
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"]["s3diff"]["condition_units"] == "official-kB"
    assert config["architecture"]["pretrained"] == "sd-turbo-folder"

    image = torch.rand(2, 3, 32, 32) * 2 - 1
    prompts = ["A libx264 0.3200 bpp compressed image.", "A libx266 0.0800 bpp compressed image."]
    assert ours.prompts_for(ours.model_condition(_condition(), 32, 32), None) == prompts
    expected = _public_forward(reference, de_state, image, True, (image + 1) / 2, prompts)
    torch.manual_seed(5)
    with torch.no_grad():
        ours.eval()
        actual = ours(image, _condition())
    assert (actual - expected).abs().max() <= 1e-5
    assert (expected - _public_forward(reference, de_state, image, False, (image + 1) / 2, prompts)).abs().max() > 1e-4

    fresh = CodecSimulator(**pristine, settings=official_vrpsr(1))  # round trip through safetensors
    fresh.load_trainable_state_dict(saved)
    assert all(torch.equal(fresh.trainable_state_dict()[k], v) for k, v in saved.items())
    torch.manual_seed(5)
    with torch.no_grad():
        assert torch.equal(fresh.eval()(image, _condition()), actual)


def test_s3diff_pkl_as_sr_model_matches_the_public_forward(tiny_parts: dict, tmp_path: Path) -> None:
    reference, base, de_state, pkl, de_pth = _published(tiny_parts, tmp_path, meta=False)
    ours = S3DiffSR(**base, settings=s3diff_baseline())
    out = import_s3diff(pkl, tmp_path / "s3diff", de_net=de_pth, model=ours)
    saved = load_file(str(out / "model.safetensors"))
    assert all(name.startswith("generator.") for name in saved) and not any(".film." in name for name in saved)
    upsampled = torch.rand(2, 3, 32, 32)
    small = torch.nn.functional.interpolate(upsampled, scale_factor=0.25, mode="area")  # the LQ DEResNet scores
    settings = s3diff_baseline()
    assert settings.guidance_scale == 1.07 and settings.negative_prompt.startswith("oil painting")
    expected = _public_forward(
        reference,
        de_state,
        upsampled * 2 - 1,
        False,
        small,
        [settings.prompt_template] * 2,
        neg_prompt=[settings.negative_prompt] * 2,
        guidance_scale=1.07,
    )  # S3Diff's inference
    torch.manual_seed(5)
    with torch.no_grad():
        actual = ours.eval()(upsampled, _condition()) * 2 - 1
    assert (actual - expected).abs().max() <= 1e-5
    unguided = _public_forward(reference, de_state, upsampled * 2 - 1, False, small, [settings.prompt_template] * 2)
    assert (expected - unguided).abs().max() > 1e-4  # the guidance changes the output: it is really applied
    torch.manual_seed(5)
    with torch.no_grad():  # in train mode the forward is one pass on the prompt, as S3Diff's training forward
        trained_forward = ours.train()(upsampled, _condition()) * 2 - 1
    assert (trained_forward - unguided).abs().max() <= 1e-5
    ours.eval()
    assert json.loads((out / "config.json").read_text())["generator"]["embed"] is False


@pytest.mark.parametrize("importer, role", [(import_vrpsr_s3diff, "generator"), (import_post_sr, "post")])
def test_vrpsr_sr_and_post_files_import_in_their_role(tiny_parts: dict, tmp_path: Path, importer, role) -> None:
    reference, base, de_state, pkl, de_pth = _published(tiny_parts, tmp_path, meta=True)
    model = (
        S3DiffSR(**base, settings=official_vrpsr(1))
        if role == "generator"
        else CodecSimulator(**base, settings=official_vrpsr(1))
    )
    out = importer(pkl, tmp_path / role, de_net=de_pth, model=model)
    saved = load_file(str(out / "model.safetensors"))
    assert set(saved) == {f"{role}.{name}" for name in model.trainable_state_dict()}
    assert role in json.loads((out / "config.json").read_text())
    picture = torch.rand(2, 3, 32, 32)  # SR: the upsampled LQ in [0, 1]; post: the decoded picture in [-1, 1]
    signed = picture * 2 - 1
    de_input = picture  # the official inference (sf 1) scores the SR input at its own size
    prompts = ["A libx264 0.3200 bpp compressed image.", "A libx266 0.0800 bpp compressed image."]
    expected = _public_forward(reference, de_state, signed, True, de_input, prompts)
    torch.manual_seed(5)
    with torch.no_grad():
        actual = (
            model.eval()(picture, _condition()) * 2 - 1 if role == "generator" else model.eval()(signed, _condition())
        )
    assert (actual - expected).abs().max() <= 1e-5


def test_wrong_files_are_refused_with_the_file_named(tiny_parts: dict, tmp_path: Path) -> None:
    _, base, _, pkl, de_pth = _published(tiny_parts, tmp_path, meta=False)
    model = CodecSimulator(**copy.deepcopy(base), settings=official_vrpsr(1))
    with pytest.raises(PublishedFileError, match="no condition MLPs"):  # an S3Diff file is not a simulator
        import_simulator(pkl, tmp_path / "a", de_net=de_pth, model=model)
    published = torch.load(pkl, weights_only=True)
    published["state_dict_unet"].pop(next(iter(published["state_dict_unet"])))
    torch.save(published, tmp_path / "cut.pkl")
    with pytest.raises(PublishedFileError, match=r"cut\.pkl.*1 missing"):
        import_s3diff(
            tmp_path / "cut.pkl",
            tmp_path / "b",
            de_net=de_pth,
            model=S3DiffSR(**copy.deepcopy(base), settings=s3diff_baseline()),
        )
    published["rank_unet"] = 8
    torch.save(published, tmp_path / "rank.pkl")
    with pytest.raises(PublishedFileError, match="LoRA ranks"):
        import_s3diff(
            tmp_path / "rank.pkl", tmp_path / "c", de_net=de_pth, model=S3DiffSR(**base, settings=s3diff_baseline())
        )
    with pytest.raises(ValueError, match="--de-net"):
        import_s3diff(pkl, tmp_path / "d", model=model)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
