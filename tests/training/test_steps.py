"""S3Diff's step structure ("separate"): (a) reconstruction step, (b) second forward + GAN step, (c) D on real,
(d) D on fake, in that order, each with its own clipped optimiser step; and the run records it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.test_loop import tiny_config, tiny_simulator
from training.loop import endless, setup, train
from training.steps import separate_step
from training.trainers.simulator import simulator_forward


def _log_calls(owner: object, name: str, events: list[str], label: str) -> None:
    original = getattr(owner, name)

    def logged(*args, **kwargs):
        events.append(label if label != "D" else f"D {args[2]}")  # discriminator_half(d, pictures, role)
        return original(*args, **kwargs)

    setattr(owner, name, logged)


@pytest.mark.parametrize("accumulation", [1, 2])
def test_separate_step_takes_the_four_steps_in_order(
    codec_batches: list[dict], tmp_path: Path, accumulation: int
) -> None:
    config = tiny_config(tmp_path, gan_step="separate", gradient_accumulation_steps=accumulation, max_grad_norm=1.0)
    run = setup(config, tiny_simulator(), codec_batches, None)
    events: list[str] = []
    grads_at_step: list[tuple[bool, bool]] = []  # (generator has gradients, discriminator has gradients)
    _log_calls(run.criterion, "reconstruction_loss", events, "reconstruction")
    _log_calls(run.criterion, "adversarial_loss", events, "gan")
    _log_calls(run.criterion, "discriminator_half", events, "D")

    def has_grads(module: torch.nn.Module) -> bool:
        return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())

    for name, label in (("optimizer", "generator step"), ("discriminator_optimizer", "discriminator step")):
        inner = run.states[name].optimizer  # accelerate's wrapper holds the torch optimiser

        def hook(optimizer, args, kwargs, label=label):
            events.append(label)
            grads_at_step.append((has_grads(run.model), has_grads(run.discriminator)))

        inner.register_step_pre_hook(hook)

    def counted_forward(model, batch):
        events.append("forward")
        return simulator_forward(model, batch)

    losses = separate_step(run, counted_forward, endless(codec_batches), done=1)
    per_batch = lambda *names: [name for _ in range(accumulation) for name in names]  # noqa: E731
    assert events == [
        *per_batch("forward", "reconstruction"),
        "generator step",  # (a)
        *per_batch("forward", "gan"),
        "generator step",  # (b): a second forward
        *per_batch("D real"),
        "discriminator step",  # (c)
        *per_batch("D fake"),
        "discriminator step",  # (d)
    ]
    # each step sees only its own gradients: the generator's are cleared before D's steps and vice versa
    assert grads_at_step == [(True, False), (True, False), (False, True), (False, True)]
    assert {"mse", "lpips", "gan", "discriminator", "loss", "lr", "seconds"} <= set(losses)
    assert losses["loss"] == pytest.approx(2 * losses["mse"] + 5 * losses["lpips"] + 0.5 * losses["gan"], rel=1e-5)


def test_a_separate_run_records_its_recipe_and_resumes_exactly(codec_batches: list[dict], tmp_path: Path) -> None:
    recipe = dict(gan_step="separate", gan_loss="sigmoid-0.8", discriminator_loss_weight=0.5)
    full = train(tiny_config(tmp_path / "full", **recipe), tiny_simulator(), simulator_forward, codec_batches)
    recorded = json.loads((full.checkpoint / "config.json").read_text())
    assert [recorded[name] for name in recipe] == ["separate", "sigmoid-0.8", 0.5]
    halfway = str(tmp_path / "full/checkpoints/step-0000002")
    resumed_config = tiny_config(tmp_path / "resumed", resume_from=halfway, **recipe)
    resumed = train(resumed_config, tiny_simulator(), simulator_forward, codec_batches)
    for name in ("model", "discriminator"):
        want = load_file(str(full.checkpoint / f"{name}.safetensors"))
        got = load_file(str(resumed.checkpoint / f"{name}.safetensors"))
        assert all(torch.equal(want[k], got[k]) for k in want), name
    summed = tiny_config(tmp_path / "other", **{**recipe, "gan_step": "summed"}, resume_from=halfway)
    with pytest.raises(ValueError, match="gan_step: 'separate' -> 'summed'"):
        train(summed, tiny_simulator(), simulator_forward, codec_batches)


def test_checkpoints_from_before_the_recipe_fields_still_resume(codec_batches: list[dict], tmp_path: Path) -> None:
    config = tiny_config(tmp_path, max_steps=2)
    train(config, tiny_simulator(), simulator_forward, codec_batches)
    recorded_file = tmp_path / "checkpoints/step-0000002/config.json"
    recorded = json.loads(recorded_file.read_text())
    for name in ("gan_loss", "gan_step", "discriminator_loss_weight"):  # an older checkpoint's config.json
        del recorded[name]
    recorded_file.write_text(json.dumps(recorded))
    longer = tiny_config(tmp_path, max_steps=3, resume_from="latest")
    assert train(longer, tiny_simulator(), simulator_forward, codec_batches).step == 3
    old = str(recorded_file.parent)
    changed = tiny_config(tmp_path / "changed", max_steps=4, resume_from=old, gan_loss="hinge")
    with pytest.raises(ValueError, match="gan_loss: None -> 'hinge'"):
        train(changed, tiny_simulator(), simulator_forward, codec_batches)
