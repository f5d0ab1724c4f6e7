"""Post-processing h_phi(X_hat, c): the three modes, and h on the real codec's output at test time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from codec_bindings import encode
from tests.training.sr_batches import sr_batches, tiny_generator, tiny_simulator
from training.inference import PostFunction, load_post_checkpoint
from training.loop import TrainConfig
from training.models.build import GeneratorSpec, PostSpec
from training.models.post import PostProcessor
from training.trainers.post import PostTrainConfig, build_post_system, train_post
from training.trainers.sr import SRTrainConfig, train_sr

TINY_POST = PostSpec(channels=(8, 16), blocks_per_level=1, dims_per_scalar=8, groups=4)
TINY_GENERATOR = GeneratorSpec(num_feat=8, num_block=2, num_grow_ch=4)


def _config(output_dir: Path, **overrides) -> TrainConfig:
    return TrainConfig(
        **{
            "output_dir": str(output_dir),
            "max_steps": 2,
            "learning_rate": 1e-3,
            "target": "mse",
            "progress_bar": False,
            **overrides,
        }
    )


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


def _changed(module: torch.nn.Module, before: dict[str, torch.Tensor]) -> bool:
    return any(not torch.equal(module.state_dict()[k], v) for k, v in before.items())


@pytest.mark.parametrize("mode", ["post", "joint"])
def test_modes_train_the_right_networks(mode: str, photo_dir: Path, tmp_path: Path) -> None:
    batches = sr_batches(photo_dir, crops=4, batch_size=2)
    generator, simulator = tiny_generator(), tiny_simulator()
    torch.manual_seed(0)
    post = PostProcessor(channels=(8, 16), blocks_per_level=1, dims_per_scalar=8, groups=4)
    before = {"generator": _state(generator), "simulator": _state(simulator), "post": _state(post)}
    config = PostTrainConfig(_config(tmp_path), mode=mode, generator=TINY_GENERATOR, post=TINY_POST)
    result = train_post(config, batches, generator=generator, simulator=simulator, post=post)
    assert _changed(post, before["post"]) and not _changed(simulator, before["simulator"])
    assert _changed(generator, before["generator"]) == (mode == "joint")
    prefixes = {name.split(".")[0] for name in load_file(str(result.checkpoint / "model.safetensors"))}
    assert prefixes == ({"post", "generator"} if mode == "joint" else {"post"})
    loaded = load_post_checkpoint(str(result.checkpoint))
    picture = (batches[0]["codec_out"][0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    with torch.no_grad():
        want = post.eval()(
            torch.from_numpy(picture).permute(2, 0, 1)[None].float() / 127.5 - 1, torch.tensor([[1.0, 0.0, 0.0, 0.4]])
        )
    want = ((want.clamp(-1, 1) + 1) * 127.5).round()[0].permute(1, 2, 0).to(torch.uint8).numpy()
    assert np.array_equal(loaded(picture, "x264", 0.4), want)


def test_post_prediction_is_h_of_the_simulated_codec_output(photo_dir: Path) -> None:
    batch = sr_batches(photo_dir, crops=2, batch_size=2)[0]
    generator, simulator = tiny_generator(), tiny_simulator()
    post = PostProcessor(channels=(8, 16), blocks_per_level=1, dims_per_scalar=8, groups=4)
    system = build_post_system(PostTrainConfig(_config(Path(".")), mode="post"), generator, simulator, post)
    prediction, target = system(batch)
    sr_only = build_post_system(
        PostTrainConfig(_config(Path(".")), mode="post"),
        generator,
        simulator,
        PostProcessor(channels=(8, 16), blocks_per_level=1, dims_per_scalar=8, groups=4),
    )
    assert torch.equal(prediction, sr_only(batch)[0])  # h starts as the identity
    (prediction - target).square().mean().backward()
    assert all(p.grad is not None for p in post.parameters())
    assert all(p.grad is None for p in list(generator.parameters()) + list(simulator.parameters()))


def test_sr_then_post_starts_from_a_recompression_aware_sr(photo_dir: Path, tmp_path: Path) -> None:
    batches = sr_batches(photo_dir, crops=2, batch_size=2)
    sr_run = train_sr(
        SRTrainConfig(_config(tmp_path / "sr", max_steps=1), TINY_GENERATOR), batches, simulator=tiny_simulator()
    )
    plain_run = train_sr(
        SRTrainConfig(_config(tmp_path / "plain", max_steps=1), TINY_GENERATOR, None, "clean"), batches
    )
    with pytest.raises(ValueError, match="init_weights"):
        build_post_system(PostTrainConfig(_config(tmp_path), mode="sr-then-post"), simulator=tiny_simulator())
    with pytest.raises(ValueError, match="without a simulator"):
        build_post_system(
            PostTrainConfig(
                _config(tmp_path),
                mode="sr-then-post",
                generator=GeneratorSpec(**{**TINY_GENERATOR.__dict__, "init_weights": str(plain_run.checkpoint)}),
            ),
            simulator=tiny_simulator(),
        )
    spec = GeneratorSpec(**{**TINY_GENERATOR.__dict__, "init_weights": str(sr_run.checkpoint)})
    system = build_post_system(
        PostTrainConfig(_config(tmp_path), mode="sr-then-post", generator=spec, post=TINY_POST),
        simulator=tiny_simulator(),
    )
    trained = load_file(str(sr_run.checkpoint / "model.safetensors"))
    assert all(
        torch.equal(system.generator.state_dict()[name[len("generator.") :]], value) for name, value in trained.items()
    )
    with pytest.raises(ValueError, match="mode"):
        PostTrainConfig(_config(tmp_path), mode="pre")


def test_post_function_runs_on_real_codec_output_of_any_size(photo_dir: Path) -> None:
    picture = np.ascontiguousarray(np.asarray(Image.open(photo_dir / "coffee.png").convert("RGB"))[:37, :45])
    decoded = encode(picture, "x265", qp=35)
    post = PostFunction(PostProcessor(channels=(8, 16, 32), blocks_per_level=1, dims_per_scalar=8, groups=4))
    assert np.array_equal(post(decoded.recon, "x265", decoded.bpp), decoded.recon)  # identity at initialisation
