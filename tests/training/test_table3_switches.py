"""Table 3's simulator variants: QP as input with a rate head, vector only, prompt only; recorded and reloaded."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tests.training.simulator_batches import qp_batches
from training.inference import load_simulator_checkpoint, simulator_spec_of
from training.loop import TrainConfig
from training.models.build import SimulatorArchitecture, build_simulator, load_simulator
from training.models.condition_switches import QP_SCALE, SwitchedSimulator
from training.models.simulator import CodecSimulator
from training.trainers.simulator import SimulatorTrainConfig, train_simulator

TINY_QP = SimulatorArchitecture(small_channels=(8, 16), small_blocks_per_level=1, condition_input="qp")


class Recorder(nn.Module):
    """Stands in for f_theta: returns its input, remembers the condition and prompts it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.seen: list[tuple[torch.Tensor, list[str]]] = []

    def forward(self, image: torch.Tensor, condition: torch.Tensor, prompts: list[str] | None = None) -> torch.Tensor:
        self.seen.append((condition.clone(), list(prompts or [])))
        return image * self.scale


def _config(tmp_path: Path, **overrides) -> TrainConfig:
    return TrainConfig(
        **{
            "output_dir": str(tmp_path),
            "max_steps": 2,
            "learning_rate": 1e-3,
            "target": "mse",
            "progress_bar": False,
            **overrides,
        }
    )


CONDITION = torch.tensor([[1.0, 0, 0, 0.3], [0, 0, 1.0, 0.05]])


def test_vector_only_gives_empty_prompts_and_the_vector() -> None:
    recorder = Recorder()
    SwitchedSimulator(recorder, prompt=False)(torch.zeros(2, 3, 8, 8), CONDITION)
    condition, prompts = recorder.seen[-1]
    assert prompts == ["", ""] and torch.equal(condition, CONDITION)


def test_prompt_only_names_the_condition_and_zeroes_the_vector() -> None:
    recorder = Recorder()
    SwitchedSimulator(recorder, embedding=False)(torch.zeros(2, 3, 8, 8), CONDITION)
    condition, prompts = recorder.seen[-1]
    assert prompts == ["A libx264 0.3000 bpp compressed image.", "A libx266 0.0500 bpp compressed image."]
    assert not condition.any()


def test_qp_input_scales_the_qp_and_writes_qp_prompts() -> None:
    recorder = Recorder()
    switched = SwitchedSimulator(recorder, condition_input="qp")
    _, rate = switched(
        torch.zeros(2, 3, 16, 16), torch.tensor([[0, 1.0, 0, 37.0], [1.0, 0, 0, 22.0]]), return_rate=True
    )
    condition, prompts = recorder.seen[-1]
    assert prompts == ["A {libx265} {qp 37} compressed image.", "A {libx264} {qp 22} compressed image."]
    assert torch.allclose(condition[:, 3], torch.tensor([37.0, 22.0]) / QP_SCALE)
    assert rate.shape == (2,) and (rate > 0).all()


def test_no_prompt_on_the_sd_turbo_style_simulator_ignores_the_prompt(tiny_parts: dict) -> None:
    switched = SwitchedSimulator(CodecSimulator.from_configs(**tiny_parts), prompt=False).eval()
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        first = switched(image, CONDITION[:1], ["A {libx264} {0.3} bpp compressed image."])
        second = switched(image, CONDITION[:1], ["A {libx265} {1.5} bpp compressed image."])
    assert torch.equal(first, second)


def _text_seen_by(simulator: CodecSimulator) -> list[list[str]]:
    """Record the prompts an s3diff simulator hands to its text encoder."""
    seen, encode = [], simulator.encode_prompts
    simulator.encode_prompts = lambda prompts: seen.append(list(prompts)) or encode(prompts)
    return seen


QP_CONDITION = torch.tensor([[1.0, 0, 0, 37.0], [0, 0, 1.0, 22.0]])


@pytest.mark.parametrize(
    "switches, condition, expected",
    [
        (
            {"embedding": False},
            CONDITION,
            ["A libx264 0.3000 bpp compressed image.", "A libx266 0.0500 bpp compressed image."],
        ),
        (
            {"condition_input": "qp"},
            QP_CONDITION,
            ["A {libx264} {qp 37} compressed image.", "A {libvvenc} {qp 22} compressed image."],
        ),
        ({"prompt": False}, CONDITION, ["", ""]),
    ],
)
def test_the_s3diff_simulator_reads_the_switches_prompts(
    tiny_parts: dict, switches: dict, condition: torch.Tensor, expected: list[str]
) -> None:
    """Prompt only: the model's template from the real condition (not from the zeroed vector); QP input: the QP
    prompt (not the model's bpp template); never the loader's prompt, which names the bpp."""
    inner = CodecSimulator.from_configs(**tiny_parts)
    seen = _text_seen_by(inner)
    with torch.no_grad():
        SwitchedSimulator(inner, **switches).eval()(torch.rand(2, 3, 32, 32) * 2 - 1, condition, ["loader text"] * 2)
    assert seen == [expected]


def test_qp_simulator_trains_its_rate_head_and_is_recorded(photo_dir: Path, tmp_path: Path) -> None:
    batches = qp_batches(photo_dir)
    config = SimulatorTrainConfig(
        _config(tmp_path, max_steps=30, checkpoint_every=30, learning_rate=3e-3), TINY_QP, rate_loss_weight=0.5
    )
    result = train_simulator(config, batches)
    rows = list(csv.DictReader((tmp_path / "losses.csv").open()))
    assert float(rows[-1]["rate_error"]) < float(rows[0]["rate_error"])
    assert math.isfinite(float(rows[-1]["rate_loss"]))
    recorded = json.loads((result.checkpoint / "config.json").read_text())
    assert recorded["architecture"]["condition_input"] == "qp" and recorded["rate_loss_weight"] == 0.5
    spec = simulator_spec_of(result.checkpoint)
    assert spec.architecture == TINY_QP
    with pytest.raises(ValueError, match="QP-conditioned"):
        load_simulator(spec)  # stage 2 conditions on bpp
    simulated = load_simulator_checkpoint(str(result.checkpoint))
    assert simulated.condition_input == "qp"
    picture = (batches[0]["clean"][0].permute(1, 2, 0) * 255).round().byte().numpy()
    assert simulated(picture, "x264", 37.0).shape == picture.shape


@pytest.mark.parametrize("switches", [{"prompt": False}, {"embedding": False}])
def test_switched_small_simulators_train_and_load_back(photo_dir: Path, tmp_path: Path, switches: dict) -> None:
    architecture = SimulatorArchitecture(small_channels=(8, 16), small_blocks_per_level=1, **switches)
    result = train_simulator(SimulatorTrainConfig(_config(tmp_path), architecture), qp_batches(photo_dir))
    spec = simulator_spec_of(result.checkpoint)
    assert spec.architecture == architecture
    assert isinstance(load_simulator(spec), SwitchedSimulator)
    picture = np.zeros((64, 64, 3), np.uint8)
    assert load_simulator_checkpoint(str(result.checkpoint))(picture, "x264", 0.3).shape == picture.shape


def test_switches_refuse_the_codec_simulators() -> None:
    with pytest.raises(ValueError, match="not hyperprior"):
        build_simulator(SimulatorArchitecture(backbone="hyperprior", prompt=False))
    with pytest.raises(ValueError, match="condition_input"):
        build_simulator(SimulatorArchitecture(condition_input="crf"))
