"""The trainer machinery shared by the simulator, SR and post-processing trainers.

Read top to bottom: setup (accelerate, loss, discriminator, AdamW, warm-up + cosine, EMA, resume),
the loop (accumulate, step, log), the held-out check, the checkpoint. A trainer supplies only its
`forward(model, batch) -> (prediction, target)`, both in [-1, 1]; the loss is ``config.target``'s.
Resume restores weights, optimisers, schedulers, EMA and RNG, and skips the batches already consumed,
so a deterministic batch iterable continues exactly where the interrupted run was.
"""
from __future__ import annotations

import contextlib
import dataclasses
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers.optimization import get_scheduler
from tqdm.auto import tqdm

from training.checkpoint import (
    check_resume_config,
    checkpoint_dir,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from training.ema import ParameterEMA
from training.logs import CsvLog
from training.losses import LossWeights, RestorationLoss, load_lpips
from training.models.discriminator import build_discriminator

Batch = dict
ForwardFn = Callable[[torch.nn.Module, Batch], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class TrainConfig:
    """Everything the shared loop needs; saved into every checkpoint's config.json."""

    output_dir: str
    max_steps: int  # optimiser updates; each consumes gradient_accumulation_steps batches
    learning_rate: float = 2e-5
    weight_decay: float = 0.01
    lr_scheduler: str = "cosine"
    warmup_steps: int = 0
    gradient_accumulation_steps: int = 1
    max_grad_norm: float | None = 1.0
    target: str = "perceptual"  # or "mse"
    loss_weights: LossWeights = field(default_factory=LossWeights)
    lpips_pretrained_backbone: bool = True  # False: random AlexNet (tests only)
    discriminator: str = "patch"  # "patch" (small PatchGAN) or "unet" (Real-ESRGAN's UNetDiscriminatorSN)
    discriminator_channels: int = 64
    ema_decay: float | None = None
    checkpoint_every: int = 1000
    eval_every: int = 500
    mixed_precision: str = "no"  # "fp16" / "bf16" on GPU
    gradient_checkpointing: bool = False  # recompute the diffusers blocks' activations in backward (memory)
    seed: int = 0
    resume_from: str | None = None  # a checkpoint folder, or "latest" in output_dir
    progress_bar: bool = True
    tensorboard: bool = False  # also log losses to <output_dir>/tensorboard


@dataclass
class TrainResult:
    step: int
    last_losses: dict[str, float]
    held_out: list[dict[str, float]]
    checkpoint: Path | None
    first_step: int = 0  # where this process started (after a resume)
    processes: int = 1  # data-parallel processes (torchrun / accelerate launch)
    update_seconds: list[float] = field(default_factory=list)  # this process's updates, data wait included
    data_seconds: list[float] = field(default_factory=list)  # of which the model waited for batches

    def summary(self) -> str:
        """One line: steps, last loss, and the median update time and data wait (the first update, which
        includes the loader workers' start, is left out of the medians when there are others)."""
        steady = slice(1, None) if len(self.update_seconds) > 1 else slice(None)
        update = statistics.median(self.update_seconds[steady]) if self.update_seconds else float("nan")
        wait = statistics.median(self.data_seconds[steady]) if self.data_seconds else float("nan")
        return (f"trained to step {self.step}; loss {self.last_losses.get('loss', float('nan')):.4f}; "
                f"median {update:.3f} s/update ({100 * wait / update if update else 0:.1f} % waiting for data) "
                f"over {len(self.update_seconds)} updates on {self.processes} process(es); checkpoint {self.checkpoint}")


def enable_gradient_checkpointing(model: torch.nn.Module) -> int:
    """Turn on diffusers' gradient checkpointing in every part of `model` that supports it (the SD-Turbo
    UNet and VAE of a simulator or S3Diff generator); returns how many parts. FiLM is safe under it
    because each simulator is called with gradients at one condition per step (see film.py)."""
    parts: list[str] = []
    for name, module in model.named_modules():  # parents come first: enable the outermost part only
        if any(name.startswith(part + ".") for part in parts):
            continue
        if getattr(module, "_supports_gradient_checkpointing", False) and hasattr(module, "enable_gradient_checkpointing"):
            module.enable_gradient_checkpointing()
            parts.append(name)
    return len(parts)


def endless(batches: Iterable[Batch]) -> Iterator[Batch]:
    """Iterate `batches` again and again (it must be re-iterable: a list, a dataset, a loader)."""
    while True:
        count = 0
        for batch in batches:
            count += 1
            yield batch
        if count == 0:
            raise ValueError("the batch iterable is empty (or a one-shot generator that ran out)")


def to_device(batch: Batch, device: torch.device) -> Batch:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def evaluate(model: torch.nn.Module, forward: ForwardFn, criterion: RestorationLoss, held_out: Iterable[Batch],
             device: torch.device) -> dict[str, float]:
    """Mean MSE, PSNR (on [0, 1] pixels) and, with the perceptual target, LPIPS over the held-out batches."""
    model.eval()
    totals: dict[str, float] = defaultdict(float)
    count = 0
    for batch in held_out:
        prediction, target = forward(model, to_device(batch, device))
        error = (prediction.float().clamp(-1, 1) - target.float()).square().mean(dim=(1, 2, 3)) / 4.0
        totals["mse"] += error.sum().item()
        totals["psnr"] += (-10.0 * torch.log10(error.clamp_min(1e-10))).sum().item()
        if criterion.lpips is not None:
            totals["lpips"] += criterion.lpips(prediction.clamp(-1, 1), target).sum().item()
        count += prediction.shape[0]
    model.train()
    return {name: value / max(count, 1) for name, value in totals.items()}


def train(config: TrainConfig, model: torch.nn.Module, forward: ForwardFn, batches: Iterable[Batch],
          held_out: Sequence[Batch] = (), run_config: object | None = None) -> TrainResult:
    """Train `model` for config.max_steps updates of `forward`'s (prediction, target) under config.target.

    Only `model`'s parameters with requires_grad are optimised: a frozen part (e.g. the simulator behind
    an SR model) may live inside `model`. `run_config`: the trainer's own config dataclass (holding
    `config`), recorded in each checkpoint's config.json instead of `config` alone.
    """
    # ---- setup
    output_dir = Path(config.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    accelerator = Accelerator(cpu=not torch.cuda.is_available(),  # several CPU processes (torchrun): gloo
                              mixed_precision=config.mixed_precision, project_dir=str(output_dir),
                              log_with="tensorboard" if config.tensorboard else None)
    if config.tensorboard:
        accelerator.init_trackers("tensorboard")
    set_seed(config.seed)
    lpips_model = load_lpips(config.lpips_pretrained_backbone) if config.target == "perceptual" else None
    criterion = RestorationLoss(config.target, lpips_model, config.loss_weights).to(accelerator.device)
    discriminator = (build_discriminator(config.discriminator, config.discriminator_channels)
                     if criterion.uses_discriminator else None)

    def adamw_with_schedule(module: torch.nn.Module) -> tuple[torch.optim.Optimizer, object]:
        parameters = [p for p in module.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
        return optimizer, get_scheduler(config.lr_scheduler, optimizer, num_warmup_steps=config.warmup_steps,
                                        num_training_steps=config.max_steps)

    if config.gradient_checkpointing and not enable_gradient_checkpointing(model):
        raise ValueError(f"gradient_checkpointing: {type(model).__name__} has no part that supports it "
                         f"(only the SD-Turbo-based simulator and S3Diff generator do)")
    optimizer, scheduler = adamw_with_schedule(model)
    states: dict[str, object] = {"optimizer": optimizer, "scheduler": scheduler}
    if discriminator is not None:
        states["discriminator_optimizer"], states["discriminator_scheduler"] = adamw_with_schedule(discriminator)
    ema = ParameterEMA(model, config.ema_decay) if config.ema_decay else None
    resume = latest_checkpoint(output_dir) if config.resume_from == "latest" else config.resume_from
    recorded_config = dataclasses.asdict(run_config if run_config is not None else config)
    if resume:
        check_resume_config(resume, recorded_config)
    start_step = load_checkpoint(resume, model, discriminator, states, ema) if resume else 0
    model, states["optimizer"] = accelerator.prepare(model, optimizer)
    if discriminator is not None:
        discriminator, states["discriminator_optimizer"] = accelerator.prepare(
            discriminator, states["discriminator_optimizer"])
    stream = endless(batches)
    for _ in range(start_step * config.gradient_accumulation_steps):  # the batches the resumed run consumed
        next(stream)
    if accelerator.is_main_process:
        loss_log = CsvLog(output_dir / "losses.csv", ["step", "lr", "loss", "mse", "lpips", "gan", "discriminator",
                                                       "seconds", "data_seconds"], start_step)
        held_out_log = CsvLog(output_dir / "held_out.csv", ["step", "mse", "psnr", "lpips"], start_step)
    result = TrainResult(start_step, {}, [], None, first_step=start_step, processes=accelerator.num_processes)

    # ---- loop
    progress = tqdm(range(start_step, config.max_steps), initial=start_step, total=config.max_steps,
                    disable=not (config.progress_bar and accelerator.is_main_process))
    for step in progress:
        model.train()
        losses: dict[str, float] = defaultdict(float)
        started = time.perf_counter()
        for micro_step in range(config.gradient_accumulation_steps):
            waited = time.perf_counter()
            batch = to_device(next(stream), accelerator.device)
            losses["data_seconds"] += time.perf_counter() - waited  # time the model waited for data
            last = micro_step == config.gradient_accumulation_steps - 1  # multi-GPU: all-reduce only then
            with contextlib.nullcontext() if last else accelerator.no_sync(model):
                with accelerator.autocast():
                    prediction, target = forward(model, batch)
                    loss, parts = criterion.generator_loss(prediction, target, discriminator)
                accelerator.backward(loss / config.gradient_accumulation_steps)
            if discriminator is not None:
                with contextlib.nullcontext() if last else accelerator.no_sync(discriminator):
                    with accelerator.autocast():
                        discriminator_loss = criterion.discriminator_loss(discriminator, target, prediction)
                    accelerator.backward(discriminator_loss / config.gradient_accumulation_steps)
                parts["discriminator"] = discriminator_loss.item()
            for name, value in parts.items():
                losses[name] += value / config.gradient_accumulation_steps
        losses["lr"] = scheduler.get_last_lr()[0]
        for module, prefix in ((model, ""), (discriminator, "discriminator_")):
            if module is None:
                continue
            if config.max_grad_norm is not None:
                accelerator.clip_grad_norm_(module.parameters(), config.max_grad_norm)
            states[prefix + "optimizer"].step()
            states[prefix + "scheduler"].step()
            states[prefix + "optimizer"].zero_grad(set_to_none=True)
        if ema is not None:
            ema.update(accelerator.unwrap_model(model))
        losses["seconds"] = time.perf_counter() - started  # the whole update, data wait included
        done = step + 1
        result.step, result.last_losses = done, dict(losses)
        result.update_seconds.append(losses["seconds"])
        result.data_seconds.append(losses["data_seconds"])
        if accelerator.is_main_process:
            loss_log.write({"step": done, **losses})
            accelerator.log(dict(losses), step=done)
            progress.set_postfix(loss=f"{losses['loss']:.4f}")

        # ---- held-out check
        if held_out and (done % config.eval_every == 0 or done == config.max_steps):
            metrics = {"step": done, **evaluate(model, forward, criterion, held_out, accelerator.device)}
            result.held_out.append(metrics)
            if accelerator.is_main_process:
                held_out_log.write(metrics)
                accelerator.log({f"held_out/{k}": v for k, v in metrics.items() if k != "step"}, step=done)

        # ---- checkpoint
        if done % config.checkpoint_every == 0 or done == config.max_steps:
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                result.checkpoint = save_checkpoint(
                    checkpoint_dir(output_dir, done), done, accelerator.unwrap_model(model),
                    accelerator.unwrap_model(discriminator) if discriminator is not None else None,
                    states, ema, recorded_config)
    accelerator.end_training()
    return result
