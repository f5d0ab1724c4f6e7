"""One optimiser update of the shared loop, in either GAN step structure (TrainConfig.gan_step).

"summed" (ours): per micro-batch one forward; the generator's loss is reconstruction + weights.gan x GAN,
    the discriminator's real + fake; one generator step and one discriminator step per update.
"separate" (S3Diff's train_s3diff.py, per batch): (a) a reconstruction-only generator step (MSE + LPIPS),
    (b) a second forward and a GAN-only generator step (weights.gan x GAN), (c) a discriminator step on
    real pictures, (d) one on the fakes of (b); gradients clipped at max_grad_norm before each step. Under
    gradient accumulation each of the four is one step over all the update's micro-batches (S3Diff's batch,
    global_batch_size pictures). The schedules step once per update (S3Diff steps the generator's twice per
    batch and the discriminator's once; ours is warm-up + cosine over max_steps updates, as the VRPSR
    supplement says).
Both return the update's losses (means over its micro-batches) with its timings.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from training.loop import Run

Batch = dict
GAN_STEPS = ("summed", "separate")


def to_device(batch: Batch, device: torch.device) -> Batch:
    """Tensors to `device`; uint8 pictures (the loader's default) become float in [0, 1] there."""
    moved = {}
    for name, value in batch.items():
        if isinstance(value, torch.Tensor):
            value = value.to(device, non_blocking=True)
            if value.dtype == torch.uint8:
                value = value.float().div_(255.0)
        moved[name] = value
    return moved


def add_extra_terms(
    loss: torch.Tensor, parts: dict[str, float], extras: list[dict[str, torch.Tensor]]
) -> tuple[torch.Tensor, dict[str, float]]:
    """A forward may return a third item, {name: scalar}: terms named *_loss (already weighted) join the
    loss, every term is logged (e.g. a simulator's rate_loss and rate_error)."""
    for name, value in (extras[0] if extras else {}).items():
        if name.endswith("_loss"):
            loss = loss + value
        parts[name] = float(value.detach())
    if extras:
        parts["loss"] = float(loss.detach())
    return loss, parts


def next_raw_batch(run: Run, stream: Iterator[Batch], losses: dict[str, float], done: int, micro_step: int) -> Batch:
    """The next batch as the loader gives it; the wait is added to losses["data_seconds"], the keys to the
    sample log."""
    waited = time.perf_counter()
    raw = next(stream)
    losses["data_seconds"] += time.perf_counter() - waited  # time the model waited for data
    if run.sample_log is not None:
        keys = " ".join(raw["key"])
        run.sample_log.write(
            {"step": done, "micro_step": micro_step, "rank": run.accelerator.process_index, "keys": keys}
        )
    return raw


def synced(run: Run, module: torch.nn.Module, micro_step: int):
    """Multi-GPU: gradients are all-reduced on the update's last micro-batch only."""
    last = micro_step == run.config.gradient_accumulation_steps - 1
    return contextlib.nullcontext() if last else run.accelerator.no_sync(module)


def optimizer_step(run: Run, module: torch.nn.Module, prefix: str) -> None:
    """Clip `module`'s gradients, step its optimiser ("" generator, "discriminator_") and clear them."""
    if run.config.max_grad_norm is not None:
        run.accelerator.clip_grad_norm_(module.parameters(), run.config.max_grad_norm)
    run.states[prefix + "optimizer"].step()
    run.states[prefix + "optimizer"].zero_grad(set_to_none=True)


def finish_update(run: Run, losses: dict[str, float], started: float) -> dict[str, float]:
    """Step the schedules, update the EMA, time the update."""
    for prefix in ("", "discriminator_") if run.discriminator is not None else ("",):
        run.states[prefix + "scheduler"].step()
    if run.ema is not None:
        run.ema.update(run.accelerator.unwrap_model(run.model))
    losses["seconds"] = time.perf_counter() - started  # the whole update, data wait included
    return dict(losses)


def summed_step(run: Run, forward, stream: Iterator[Batch], done: int) -> dict[str, float]:
    """One update: per micro-batch one forward, generator loss and discriminator loss; one step each."""
    config, accelerator, model, discriminator = run.config, run.accelerator, run.model, run.discriminator
    model.train()
    losses: dict[str, float] = defaultdict(float)
    started, accumulation = time.perf_counter(), config.gradient_accumulation_steps
    for micro_step in range(accumulation):
        batch = to_device(next_raw_batch(run, stream, losses, done, micro_step), accelerator.device)
        with synced(run, model, micro_step):
            with accelerator.autocast():
                prediction, target, *extras = forward(model, batch)
                loss, parts = run.criterion.generator_loss(prediction, target, discriminator)
                loss, parts = add_extra_terms(loss, parts, extras)
            accelerator.backward(loss / accumulation)
        if discriminator is not None:
            with synced(run, discriminator, micro_step):
                with accelerator.autocast():
                    discriminator_loss = run.criterion.discriminator_loss(discriminator, target, prediction)
                accelerator.backward(discriminator_loss / accumulation)
            parts["discriminator"] = discriminator_loss.item()
        for name, value in parts.items():
            losses[name] += value / accumulation
    losses["lr"] = run.states["scheduler"].get_last_lr()[0]
    optimizer_step(run, model, "")
    if discriminator is not None:
        optimizer_step(run, discriminator, "discriminator_")
    return finish_update(run, losses, started)


def separate_step(run: Run, forward, stream: Iterator[Batch], done: int) -> dict[str, float]:
    """One update in S3Diff's four steps: (a) reconstruction, (b) GAN (second forward), (c) D real, (d) D fake."""
    config, accelerator, model, discriminator = run.config, run.accelerator, run.model, run.discriminator
    if discriminator is None:
        raise ValueError('gan_step "separate" needs the GAN term (target "perceptual" with loss_weights.gan > 0)')
    model.train()
    losses: dict[str, float] = defaultdict(float)
    started, accumulation = time.perf_counter(), config.gradient_accumulation_steps
    # the update's batches stay as the loader gave them (uint8, host) until each phase moves one to the device
    batches = [next_raw_batch(run, stream, losses, done, micro_step) for micro_step in range(accumulation)]
    losses["lr"] = run.states["scheduler"].get_last_lr()[0]
    for micro_step, batch in enumerate(batches):  # (a) MSE + LPIPS (+ a forward's own *_loss terms)
        with synced(run, model, micro_step):
            with accelerator.autocast():
                prediction, target, *extras = forward(model, to_device(batch, accelerator.device))
                loss, parts = add_extra_terms(*run.criterion.reconstruction_loss(prediction, target), extras)
            accelerator.backward(loss / accumulation)
        for name, value in parts.items():
            losses[name] += value / accumulation
    optimizer_step(run, model, "")
    pairs = []
    for micro_step, batch in enumerate(batches):  # (b) a second forward, the GAN term alone
        with synced(run, model, micro_step):
            with accelerator.autocast():
                prediction, target, *_ = forward(model, to_device(batch, accelerator.device))
                adversarial = run.criterion.adversarial_loss(prediction, discriminator)
            accelerator.backward(config.loss_weights.gan * adversarial / accumulation)
        losses["gan"] += adversarial.item() / accumulation
        pairs.append((target.detach(), prediction.detach()))
    optimizer_step(run, model, "")
    for role, index in (("real", 0), ("fake", 1)):  # (c) D on real pictures, (d) D on the fakes of (b)
        for micro_step, pair in enumerate(pairs):
            with synced(run, discriminator, micro_step):
                with accelerator.autocast():
                    half = run.criterion.discriminator_half(discriminator, pair[index], role)
                accelerator.backward(half / accumulation)
            losses["discriminator"] += half.item() / accumulation
        optimizer_step(run, discriminator, "discriminator_")
    losses["loss"] += config.loss_weights.gan * losses["gan"]  # the generator's total, as the summed step logs it
    return finish_update(run, losses, started)


STEPS = {"summed": summed_step, "separate": separate_step}
