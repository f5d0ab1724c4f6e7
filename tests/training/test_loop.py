"""The shared loop: exact resume, gradient accumulation, EMA, logs and the held-out check."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from training.checkpoint import TRAINING_STATE, latest_checkpoint
from training.loop import TrainConfig, evaluate, train
from training.losses import RestorationLoss
from training.models.small_simulator import SmallSimulator
from training.trainers.simulator import simulator_forward


def tiny_simulator() -> SmallSimulator:
    torch.manual_seed(1)
    return SmallSimulator(channels=(8, 16), blocks_per_level=1, dims_per_scalar=8, groups=4)


def tiny_config(output_dir: Path, **overrides) -> TrainConfig:
    defaults = dict(
        output_dir=str(output_dir),
        max_steps=4,
        learning_rate=1e-3,
        warmup_steps=1,
        lpips_pretrained_backbone=False,
        discriminator_channels=8,
        checkpoint_every=2,
        eval_every=2,
        progress_bar=False,
    )
    return TrainConfig(**{**defaults, **overrides})


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_resume_continues_the_exact_schedule(codec_batches: list[dict], tmp_path: Path) -> None:
    full = tiny_config(tmp_path / "full", ema_decay=0.9)
    result = train(full, tiny_simulator(), simulator_forward, codec_batches)
    assert result.step == 4 and result.checkpoint == tmp_path / "full/checkpoints/step-0000004"
    resumed_config = dataclasses.replace(
        full, output_dir=str(tmp_path / "resumed"), resume_from=str(tmp_path / "full/checkpoints/step-0000002")
    )
    resumed = train(resumed_config, tiny_simulator(), simulator_forward, codec_batches)
    assert resumed.step == 4
    for name in ("model", "discriminator", "ema"):
        want = load_file(str(tmp_path / f"full/checkpoints/step-0000004/{name}.safetensors"))
        got = load_file(str(tmp_path / f"resumed/checkpoints/step-0000004/{name}.safetensors"))
        halfway = load_file(str(tmp_path / f"full/checkpoints/step-0000002/{name}.safetensors"))
        assert want.keys() == got.keys()
        assert all(torch.equal(want[k], got[k]) for k in want), name
        assert any(not torch.equal(want[k], halfway[k]) for k in want), name  # steps 3-4 did change it
    full_rows, resumed_rows = _rows(tmp_path / "full/losses.csv"), _rows(tmp_path / "resumed/losses.csv")
    assert [r["step"] for r in resumed_rows] == ["3", "4"]
    assert [r["lr"] for r in resumed_rows] == [r["lr"] for r in full_rows[2:]]  # same point of the cosine
    assert len({r["lr"] for r in full_rows}) == 4


def test_resume_latest_truncates_the_lost_log_rows(codec_batches: list[dict], tmp_path: Path) -> None:
    config = tiny_config(tmp_path, target="mse", max_steps=3, checkpoint_every=2, tensorboard=True)
    train(config, tiny_simulator(), simulator_forward, codec_batches)
    (tmp_path / "checkpoints/step-0000003").rename(tmp_path / "lost")  # as if the run died after step 3
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoints/step-0000002"
    result = train(
        dataclasses.replace(config, resume_from="latest"), tiny_simulator(), simulator_forward, codec_batches
    )
    assert result.step == 3
    rows = _rows(tmp_path / "losses.csv")
    assert [r["step"] for r in rows] == ["1", "2", "3"]
    assert all(0 <= float(r["data_seconds"]) <= float(r["seconds"]) and float(r["seconds"]) > 0 for r in rows)
    assert result.first_step == 2 and len(result.update_seconds) == 1 and "over 1 updates" in result.summary()
    assert not list((tmp_path / "checkpoints").glob("*.partial"))
    assert list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))


def test_resume_refuses_a_config_that_changes_the_training(codec_batches: list[dict], tmp_path: Path) -> None:
    config = tiny_config(tmp_path, target="mse", max_steps=2, checkpoint_every=2)
    train(config, tiny_simulator(), simulator_forward, codec_batches)
    changed = dataclasses.replace(config, resume_from="latest", max_steps=3, learning_rate=5e-4)
    with pytest.raises(ValueError, match=r"learning_rate: 0.001 -> 0.0005"):
        train(changed, tiny_simulator(), simulator_forward, codec_batches)
    longer = dataclasses.replace(config, resume_from="latest", max_steps=3, progress_bar=False)  # may change
    assert train(longer, tiny_simulator(), simulator_forward, codec_batches).step == 3


def test_gradient_accumulation_matches_the_larger_batch(codec_batches: list[dict], tmp_path: Path) -> None:
    big = codec_batches[:2]
    small = [{k: v[i : i + 1] for k, v in b.items()} for b in big for i in range(2)]
    common = dict(target="mse", max_steps=2, max_grad_norm=None, checkpoint_every=2)
    one = train(tiny_config(tmp_path / "one", **common), tiny_simulator(), simulator_forward, big)
    two = train(
        tiny_config(tmp_path / "two", gradient_accumulation_steps=2, **common),
        tiny_simulator(),
        simulator_forward,
        small,
    )
    want, got = (load_file(str(r.checkpoint / "model.safetensors")) for r in (one, two))
    assert max((want[k] - got[k]).abs().max().item() for k in want) < 1e-6
    assert one.last_losses["mse"] == pytest.approx(two.last_losses["mse"], rel=1e-5)


def test_training_lowers_held_out_error_below_identity(
    codec_batches: list[dict], held_out_batches: list[dict], tmp_path: Path
) -> None:
    model = tiny_simulator()
    criterion = RestorationLoss("mse")
    before = evaluate(model, simulator_forward, criterion, held_out_batches, torch.device("cpu"))
    config = tiny_config(tmp_path, target="mse", max_steps=30, learning_rate=3e-3, checkpoint_every=30, eval_every=15)
    result = train(config, model, simulator_forward, codec_batches, held_out_batches)
    assert [m["step"] for m in result.held_out] == [15, 30]
    assert [r["step"] for r in _rows(tmp_path / "held_out.csv")] == ["15", "30"]
    assert result.held_out[-1]["mse"] < before["mse"]
    assert result.held_out[-1]["psnr"] > before["psnr"]


def test_resume_latest_with_nothing_to_resume_is_refused(codec_batches: list[dict], tmp_path: Path) -> None:
    """It used to start silently from step 0, as if the earlier run's checkpoints had never existed."""
    config = tiny_config(tmp_path / "empty", resume_from="latest")
    with pytest.raises(ValueError, match="--resume latest: .* holds no complete checkpoint to resume"):
        train(config, tiny_simulator(), simulator_forward, codec_batches)
    assert not (tmp_path / "empty" / "losses.csv").exists()


@pytest.mark.parametrize("damaged", ["model.safetensors", TRAINING_STATE])
def test_resume_from_a_damaged_checkpoint_is_one_error_naming_the_file(
    codec_batches: list[dict], tmp_path: Path, damaged: str
) -> None:
    """A cut file used to surface as SafetensorError / UnpicklingError / IndexError tracebacks."""
    config = tiny_config(tmp_path, target="mse", max_steps=2, checkpoint_every=2)
    train(config, tiny_simulator(), simulator_forward, codec_batches)
    file = tmp_path / "checkpoints/step-0000002" / damaged
    file.write_bytes(file.read_bytes()[: len(file.read_bytes()) // 2])
    resumed = dataclasses.replace(config, resume_from="latest", max_steps=3)
    with pytest.raises(ValueError, match=rf"{damaged}: damaged or not a checkpoint file .*give an intact checkpoint"):
        train(resumed, tiny_simulator(), simulator_forward, codec_batches)
