"""The hyperprior codec simulator (Table 6): trained toward the condition's rate, loaded back, used in stage 2."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import torch

from tests.training.simulator_batches import qp_batches
from training.inference import load_simulator_checkpoint, simulator_spec_of
from training.loop import TrainConfig
from training.models.build import SimulatorArchitecture, build_simulator, load_simulator
from training.models.hyperprior import HyperpriorSimulator, rate_terms
from training.trainers.simulator import SimulatorTrainConfig, train_simulator

TINY = SimulatorArchitecture(backbone="hyperprior", hyperprior_channels=(16, 24))


def _config(tmp_path: Path, **overrides) -> TrainConfig:
    return TrainConfig(
        **{
            "output_dir": str(tmp_path),
            "max_steps": 2,
            "learning_rate": 3e-3,
            "target": "mse",
            "progress_bar": False,
            **overrides,
        }
    )


def _log_rate_gap(model: torch.nn.Module, batch: dict) -> float:
    condition = torch.cat([batch["codec_onehot"], batch["bpp"][:, None]], dim=1)
    with torch.no_grad():
        _, estimated = model.eval()(batch["clean"] * 2 - 1, condition, None, return_rate=True)
    return float(torch.log(estimated / batch["bpp"]).abs().mean())


def test_rate_term_pulls_the_estimated_rate_to_the_condition(photo_dir: Path, tmp_path: Path) -> None:
    batches = qp_batches(photo_dir)
    torch.manual_seed(0)
    model = build_simulator(TINY)
    before = _log_rate_gap(model, batches[0])
    config = SimulatorTrainConfig(_config(tmp_path, max_steps=40, checkpoint_every=40), TINY, rate_loss_weight=1.0)
    result = train_simulator(config, batches, model=model)
    after = _log_rate_gap(model, batches[0])
    assert after < 0.5 * before, (before, after)
    rows = list(csv.DictReader((tmp_path / "losses.csv").open()))
    assert rows[-1]["rate_error"] and math.isfinite(float(rows[-1]["rate_loss"]))
    assert float(rows[-1]["rate_error"]) < float(rows[0]["rate_error"])
    assert {"rate_loss", "rate_error"} <= set(result.last_losses)


def test_checkpoint_records_the_architecture_and_loads_back(photo_dir: Path, tmp_path: Path) -> None:
    batch = qp_batches(photo_dir)[0]
    result = train_simulator(SimulatorTrainConfig(_config(tmp_path), TINY), qp_batches(photo_dir))
    recorded = json.loads((result.checkpoint / "config.json").read_text())["architecture"]
    assert recorded["backbone"] == "hyperprior" and recorded["hyperprior_channels"] == [16, 24]
    spec = simulator_spec_of(result.checkpoint)
    assert spec.architecture == TINY
    frozen = load_simulator(spec)
    assert isinstance(frozen, HyperpriorSimulator) and not frozen.training
    picture = (batch["clean"][0].permute(1, 2, 0) * 255).round().byte().numpy()
    assert load_simulator_checkpoint(str(result.checkpoint))(picture, "x265", 0.3).shape == picture.shape


def test_frozen_hyperprior_passes_gradients_to_its_input(photo_dir: Path) -> None:
    model = build_simulator(TINY).requires_grad_(False).eval()
    image = (qp_batches(photo_dir)[0]["clean"] * 2 - 1).requires_grad_()
    output = model(image, torch.tensor([[1.0, 0, 0, 0.3]]).repeat(image.shape[0], 1))
    output.square().sum().backward()
    assert image.grad.abs().sum() > 0  # rounding is straight-through, so stage 2 can train through it


def test_rate_terms() -> None:
    terms = rate_terms(torch.tensor([0.2, 0.4]), torch.tensor([0.2, 0.2]), weight=2.0)
    assert math.isclose(terms["rate_loss"].item(), 2.0 * math.log(2) ** 2 / 2, rel_tol=1e-5)
    assert math.isclose(terms["rate_error"].item(), 0.5, rel_tol=1e-5)
