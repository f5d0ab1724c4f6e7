"""Stage 2 on photo crops: g_phi learns through the frozen simulator; switches, checkpoints, backbones."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.training.sr_batches import sr_batches, tiny_generator, tiny_simulator
from training.condition import condition_batch
from training.inference import load_sr_checkpoint
from training.loop import TrainConfig
from training.losses import RestorationLoss, load_lpips
from training.models.build import GeneratorSpec, SimulatorArchitecture, SimulatorSpec, build_generator, load_simulator
from training.models.discriminator import UNetDiscriminatorSN
from training.models.simulator import CodecSimulator
from training.models.small_simulator import SmallSimulator
from training.models.sr_s3diff import S3DiffSR
from training.trainers.sr import RecompressionAwareSR, SRTrainConfig, train_sr


def _config(output_dir: Path, **overrides) -> TrainConfig:
    return TrainConfig(
        **{
            "output_dir": str(output_dir),
            "max_steps": 2,
            "learning_rate": 1e-3,
            "target": "mse",
            "lpips_pretrained_backbone": False,
            "discriminator": "unet",
            "discriminator_channels": 8,
            "progress_bar": False,
            **overrides,
        }
    )


@pytest.fixture()
def batches(photo_dir: Path) -> tuple[dict, ...]:
    return sr_batches(photo_dir, crops=8, batch_size=2)


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


def test_gradients_reach_the_generator_through_the_simulator_and_never_theta(batches: tuple[dict, ...]) -> None:
    generator, simulator = tiny_generator(), tiny_simulator()
    system = RecompressionAwareSR(generator, simulator)
    assert not any(p.requires_grad for p in simulator.parameters()) and not simulator.training
    criterion = RestorationLoss("perceptual", load_lpips(pretrained_backbone=False))
    prediction, target = system(batches[0])
    loss, parts = criterion.generator_loss(prediction, target, UNetDiscriminatorSN(num_feat=8))
    assert {"mse", "lpips", "gan"} <= set(parts)
    loss.backward()
    assert all(p.grad is not None for p in generator.parameters())
    silent = [name for name, p in generator.named_parameters() if not p.grad.abs().sum() > 0]
    first_head_layers = r"body\.\d+\.codec_heads\.\d\.0\.(weight|bias)"  # behind the zero-initialised last layer
    assert silent and all(re.fullmatch(first_head_layers, name) for name in silent)
    assert all(p.grad is None for p in simulator.parameters())
    assert set(system.trainable_state_dict()) == {f"generator.{name}" for name, _ in generator.named_parameters()}


def test_training_changes_g_and_leaves_theta_bit_for_bit(batches: tuple[dict, ...], tmp_path: Path) -> None:
    generator, simulator = tiny_generator(), tiny_simulator()
    generator_before, simulator_before = _state(generator), _state(simulator)
    config = SRTrainConfig(_config(tmp_path, target="perceptual"))
    result = train_sr(config, batches[:2], batches[2:3], generator=generator, simulator=simulator)
    assert {"mse", "lpips", "gan", "discriminator"} <= set(result.last_losses)
    assert all(torch.equal(simulator.state_dict()[k], v) for k, v in simulator_before.items())
    assert any(not torch.equal(generator.state_dict()[k], v) for k, v in generator_before.items())
    saved = load_file(str(result.checkpoint / "model.safetensors"))
    assert saved and all(name.startswith("generator.") for name in saved)
    recorded = json.loads((result.checkpoint / "config.json").read_text())
    assert recorded["supervision"] == "simulator" and recorded["train"]["discriminator"] == "unet"


def test_supervision_targets(batches: tuple[dict, ...]) -> None:
    batch, simulator = batches[0], tiny_simulator().eval()  # the frozen simulator runs in eval mode
    with torch.no_grad():
        slight = simulator(batch["clean"] * 2 - 1, condition_batch(batch["codec_onehot"], batch["bpp_slight"]))
        at_q = simulator(batch["clean"] * 2 - 1, condition_batch(batch["codec_onehot"], batch["bpp"]))
    targets = {
        name: RecompressionAwareSR(tiny_generator(), simulator, supervision=name)(batch)[1]
        for name in ("simulator", "real-codec", "clean")
    }
    assert torch.equal(targets["simulator"], slight) and not torch.equal(slight, at_q)  # X_s = f(X, c')
    assert torch.equal(targets["real-codec"], batch["codec_out_slight"] * 2 - 1)
    assert torch.equal(targets["clean"], batch["clean"] * 2 - 1)
    with pytest.raises(ValueError, match="supervision"):
        RecompressionAwareSR(tiny_generator(), simulator, supervision="teacher")


def test_without_a_simulator_it_is_plain_fine_tuning(batches: tuple[dict, ...]) -> None:
    generator = tiny_generator()
    prediction, target = RecompressionAwareSR(generator, None, supervision="clean")(batches[0])
    with torch.no_grad():
        sr = generator(batches[0]["lq"], condition_batch(batches[0]["codec_onehot"], batches[0]["bpp"]))
    assert torch.allclose(prediction, sr * 2 - 1) and torch.equal(target, batches[0]["clean"] * 2 - 1)
    for switches in (
        {},
        {"supervision": "clean", "straight_through": True},
        {"supervision": "clean", "joint_simulator": True},
    ):
        with pytest.raises(ValueError, match="need a simulator"):
            RecompressionAwareSR(generator, None, **switches)


def test_joint_simulator_updates_both_and_keeps_the_stage_one_pair(batches: tuple[dict, ...], tmp_path: Path) -> None:
    generator, simulator = tiny_generator(), tiny_simulator()
    system = RecompressionAwareSR(generator, simulator, joint_simulator=True)
    prediction, target = system(batches[0])
    assert prediction.shape[0] == target.shape[0] == 4
    assert torch.equal(target[2:], batches[0]["codec_out"] * 2 - 1)
    simulator_before = _state(simulator)
    result = train_sr(
        SRTrainConfig(_config(tmp_path), joint_simulator=True), batches[:2], generator=generator, simulator=simulator
    )
    assert any(not torch.equal(simulator.state_dict()[k], v) for k, v in simulator_before.items())
    assert any(name.startswith("simulator.") for name in load_file(str(result.checkpoint / "model.safetensors")))


def test_loss_falls(batches: tuple[dict, ...], tmp_path: Path) -> None:
    config = SRTrainConfig(
        _config(tmp_path, max_steps=24, learning_rate=2e-3, warmup_steps=2, checkpoint_every=24, max_grad_norm=None)
    )
    train_sr(config, batches, generator=tiny_generator(), simulator=tiny_simulator())
    losses = np.loadtxt(tmp_path / "losses.csv", delimiter=",", skiprows=1, usecols=2)
    assert losses[-4:].mean() < 0.7 * losses[:4].mean()


def test_single_codec_run_rejects_other_codecs(batches: tuple[dict, ...]) -> None:
    system = RecompressionAwareSR(tiny_generator(), tiny_simulator(), codecs=("x264",))
    with pytest.raises(ValueError, match="x265"):
        system(batches[0])  # an x264 and an x265 crop


def test_no_embed_generator_ignores_the_vector(batches: tuple[dict, ...]) -> None:
    generator = build_generator(GeneratorSpec(num_feat=8, num_block=1, num_grow_ch=4, embed=False))
    assert not generator.codec_aware and not any(".codec_heads." in name for name, _ in generator.named_parameters())
    RecompressionAwareSR(generator, tiny_simulator())(batches[0])[0].mean().backward()


def test_s3diff_backbone_is_the_simulator_class_reused(tiny_parts: dict, photo_dir: Path, tmp_path: Path) -> None:
    generator = S3DiffSR.from_configs(**tiny_parts)
    assert isinstance(generator, CodecSimulator) and generator.codec_aware
    batches = sr_batches(photo_dir, crops=2, batch_size=2, upsample_lq=True)
    lora_before = {n: p.detach().clone() for n, p in generator.named_parameters() if p.requires_grad}
    train_sr(
        SRTrainConfig(_config(tmp_path, max_steps=1), GeneratorSpec("s3diff", scale=1)),
        batches,
        generator=generator,
        simulator=tiny_simulator(),
    )
    changed = [n for n, p in generator.named_parameters() if p.requires_grad and not torch.equal(p, lora_before[n])]
    assert any("lora_" in n for n in changed)
    sr = generator(batches[0]["lq"], condition_batch(batches[0]["codec_onehot"], batches[0]["bpp"]))
    assert sr.shape == batches[0]["clean"].shape
    film_count = len(generator.film.hooked_modules)
    generator.disable_embedding()  # --no-embed: prompt only
    assert film_count > 0 and not generator.codec_aware
    assert not any(p.requires_grad for p in generator.film.parameters())
    with pytest.raises(ValueError, match="upsample_lq"):
        RecompressionAwareSR(generator, tiny_simulator())(sr_batches(photo_dir, crops=2, batch_size=2)[0])
    with pytest.raises(ValueError, match="sd-turbo"):
        build_generator(GeneratorSpec("s3diff", scale=1))


def test_simulator_and_generator_weights_round_trip(batches: tuple[dict, ...], tmp_path: Path) -> None:
    torch.manual_seed(8)
    stage_one = SmallSimulator(channels=(8, 16), blocks_per_level=1)
    save_file(stage_one.state_dict(), str(tmp_path / "simulator.safetensors"))
    spec = SimulatorSpec(
        str(tmp_path / "simulator.safetensors"), SimulatorArchitecture(small_channels=(8, 16), small_blocks_per_level=1)
    )
    simulator = load_simulator(spec)
    assert all(torch.equal(simulator.state_dict()[k], v) for k, v in stage_one.state_dict().items())
    assert not any(p.requires_grad for p in simulator.parameters())
    with pytest.raises(ValueError, match="simulator.safetensors"):
        wider = SimulatorSpec(spec.weights, SimulatorArchitecture(small_channels=(16, 32), small_blocks_per_level=1))
        load_simulator(wider)
    with pytest.raises(FileNotFoundError, match="nothing"):
        load_simulator(SimulatorSpec(str(tmp_path / "nothing")))

    generator_spec = GeneratorSpec(num_feat=8, num_block=2, num_grow_ch=4)
    config = SRTrainConfig(_config(tmp_path / "run"), generator_spec, spec)
    result = train_sr(config, batches[:2])
    model = load_sr_checkpoint(str(result.checkpoint), scale=4)
    assert model.input_scale == 4 and model.name == "run"
    lq = (batches[0]["lq"][0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    sr = model(lq, "x264", 0.3)
    assert sr.shape == (32, 32, 3) and sr.dtype == np.uint8
    restarted = build_generator(GeneratorSpec(**{**generator_spec.__dict__, "init_weights": str(result.checkpoint)}))
    assert all(torch.equal(restarted.state_dict()[k], v) for k, v in model.generator.state_dict().items())


def test_cli_trains_sr_then_post_from_shards(jpeg_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from tests.dataset_builder import build_dataset
    from vrpsr_cli.main import main

    dataset = tmp_path / "dataset"
    build_dataset(
        dataset, sorted(jpeg_dir.glob("*.JPEG"))[20:22], shard_size=2, size=32, qps=(26, 36), codecs=("x264",)
    )
    common = [
        "--data",
        str(dataset),
        "--batch-size",
        "2",
        "--crop",
        "32",
        "--workers",
        "0",
        "--target",
        "mse",
        "--qp-range",
        "36-36",
        "--steps",
        "1",
    ]
    assert main(["train", "simulator", *common, "--output-dir", str(tmp_path / "sim"), "--small-channels", "8,16"]) == 0
    tiny = ["--num-feat", "8", "--num-block", "1", "--num-grow-ch", "4", "--simulator-small-channels", "8,16"]
    simulator = str(tmp_path / "sim/checkpoints/step-0000001")
    assert main(["train", "sr", *common, *tiny, "--output-dir", str(tmp_path / "sr"), "--simulator", simulator]) == 0
    assert "trained to step 1" in capsys.readouterr().out
    recorded = json.loads((tmp_path / "sr/checkpoints/step-0000001/config.json").read_text())
    assert recorded["simulator"]["weights"] == simulator and recorded["train"]["discriminator"] == "unet"
    assert (
        main(
            [
                "train",
                "post",
                *common,
                *tiny,
                "--output-dir",
                str(tmp_path / "post"),
                "--simulator",
                simulator,
                "--mode",
                "sr-then-post",
                "--init-weights",
                str(tmp_path / "sr/checkpoints/step-0000001"),
                "--post-channels",
                "8,16",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                "sr",
                *common,
                *tiny,
                "--output-dir",
                str(tmp_path / "x"),
                "--scale",
                "4",
                "--backbone",
                "s3diff",
                "--no-simulator",
                "--supervision",
                "clean",
            ]
        )
        == 2
    )
    assert "scale 1" in capsys.readouterr().err
