"""The trainer machinery shared by the simulator, SR and post-processing trainers.

Read top to bottom: `train` calls setup (accelerate, loss, discriminator, AdamW, warm-up + cosine, EMA,
resume), then per update a step of training/steps.py (``gan_step``: "summed" or S3Diff's "separate"),
the held-out check and the checkpoint, each a function below it. A trainer supplies only its `forward(model, batch) -> (prediction, target)`, both in
[-1, 1]; the loss is ``config.target``'s.

Resume restores weights, optimisers, schedulers, EMA, RNG and, for the streaming loader (anything with
``state_dict``/``load_state_dict``/``settings``), each rank's loader position: nothing is read twice. The
loader's settings are recorded with the run's config, so a resume that would change the data is refused.
Other batch iterables (lists) are replayed: the batches already consumed are skipped.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import gather_object, set_seed
from diffusers.optimization import get_scheduler
from tqdm.auto import tqdm

from training.checkpoint import (
    check_resume_config,
    checkpoint_dir,
    latest_checkpoint,
    load_checkpoint,
    load_data_state,
    save_checkpoint,
)
from training.distributed import mean_over_ranks, skipped_over_ranks
from training.ema import ParameterEMA
from training.gan_losses import check_gan_loss, default_gan_loss
from training.logs import CsvLog
from training.losses import LossWeights, RestorationLoss, load_lpips
from training.models.build import build_discriminator
from training.steps import GAN_STEPS, STEPS, to_device

LOG = logging.getLogger("training.loop")
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
    lpips_net: str = "alex"  # "vgg": S3Diff's loss (with discriminator "vision-aided-dino")
    discriminator: str = "patch"  # "patch" (small PatchGAN) or "unet" (Real-ESRGAN's UNetDiscriminatorSN)
    discriminator_channels: int = 64
    gan_loss: str | None = None  # training/gan_losses.py; None: the discriminator's usual one (recorded resolved)
    discriminator_loss_weight: float = 1.0  # x the discriminator's loss (S3Diff: 0.5, its lambda_gan)
    gan_step: str = "summed"  # or "separate": S3Diff's four steps per batch (training/steps.py)
    ema_decay: float | None = None
    checkpoint_every: int = 1000
    eval_every: int = 500
    mixed_precision: str | None = (
        None  # "no" / "fp16" / "bf16"; None: what accelerate resolves (launch config, else "no")
    )
    gradient_checkpointing: bool = False  # recompute the diffusers blocks' activations in backward (memory)
    seed: int = 0
    resume_from: str | None = None  # a checkpoint folder, or "latest" in output_dir
    progress_bar: bool = True
    tensorboard: bool = False  # also log losses to <output_dir>/tensorboard
    log_samples: bool = False  # every rank writes <output_dir>/samples/rank-NNNNN.csv: step, micro step, keys
    stop_at_step: int | None = None  # end this process after that update (checkpointed); the schedule runs to max_steps

    def __post_init__(self) -> None:
        if self.gan_loss is None:  # recorded as the loss that ran
            object.__setattr__(self, "gan_loss", default_gan_loss(self.discriminator))
        check_gan_loss(self.gan_loss)
        if self.gan_step not in GAN_STEPS:
            raise ValueError(f"unknown gan_step {self.gan_step!r}; choose one of {', '.join(GAN_STEPS)}")
        if self.gan_step == "separate" and (self.target != "perceptual" or not getattr(self.loss_weights, "gan", 0)):
            raise ValueError('gan_step "separate" needs the GAN term (target "perceptual", loss_weights.gan > 0)')


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
    skipped: tuple[int, int] = (0, 0)  # corrupt (shards, samples) the loaders skipped, over all ranks and workers
    mixed_precision: str = "no"  # what accelerate resolved (flag, else the launch config, else "no")
    main_process: bool = True  # only the main process reports (its losses are the mean over ranks)

    def summary(self) -> str:
        """One line: steps, last loss, and the median update time and data wait (the first update, which
        includes the loader workers' start, is left out of the medians when there are others)."""
        steady = slice(1, None) if len(self.update_seconds) > 1 else slice(None)
        update = statistics.median(self.update_seconds[steady]) if self.update_seconds else float("nan")
        wait = statistics.median(self.data_seconds[steady]) if self.data_seconds else float("nan")
        return (
            f"trained to step {self.step}; loss {self.last_losses.get('loss', float('nan')):.4f}"
            f"{f' (mean over {self.processes} ranks)' if self.processes > 1 else ''}; "
            f"median {update:.3f} s/update ({100 * wait / update if update else 0:.1f} % waiting for data) "
            f"over {len(self.update_seconds)} updates on {self.processes} process(es), "
            f"mixed precision {self.mixed_precision}; "
            f"skipped {self.skipped[0]} corrupt shard(s), {self.skipped[1]} sample(s); checkpoint {self.checkpoint}"
        )


def enable_gradient_checkpointing(model: torch.nn.Module) -> int:
    """Turn on diffusers' gradient checkpointing in every part of `model` that supports it (the SD-Turbo
    UNet and VAE of a simulator or S3Diff generator); returns how many parts. FiLM is safe under it
    because each simulator is called with gradients at one condition per step (see film.py)."""
    parts: list[str] = []
    for name, module in model.named_modules():  # parents come first: enable the outermost part only
        if any(name.startswith(part + ".") for part in parts):
            continue
        if getattr(module, "_supports_gradient_checkpointing", False) and hasattr(
            module, "enable_gradient_checkpointing"
        ):
            module.enable_gradient_checkpointing()
            parts.append(name)
    return len(parts)


def endless(batches: Iterable[Batch]) -> Iterator[Batch]:
    """Iterate `batches` again and again (it must be re-iterable: a list, a dataset, a loader). One empty
    pass is allowed (a loader resumed at the very end of its epoch); two in a row mean there is no data."""
    empty_passes = 0
    while True:
        count = 0
        for batch in batches:
            count += 1
            yield batch
        empty_passes = empty_passes + 1 if count == 0 else 0
        if empty_passes == 2:
            raise ValueError("the batch iterable is empty (or a one-shot generator that ran out)")


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    forward: ForwardFn,
    criterion: RestorationLoss,
    held_out: Iterable[Batch],
    device: torch.device,
) -> dict[str, float]:
    """Mean MSE, PSNR (on [0, 1] pixels) and, with the perceptual target, LPIPS over the held-out batches."""
    model.eval()
    totals: dict[str, float] = defaultdict(float)
    count = 0
    for batch in held_out:
        prediction, target, *_ = forward(model, to_device(batch, device))
        error = (prediction.float().clamp(-1, 1) - target.float()).square().mean(dim=(1, 2, 3)) / 4.0
        totals["mse"] += error.sum().item()
        totals["psnr"] += (-10.0 * torch.log10(error.clamp_min(1e-10))).sum().item()
        if criterion.lpips is not None:
            totals["lpips"] += criterion.lpips(prediction.clamp(-1, 1), target).sum().item()
        count += prediction.shape[0]
    model.train()
    return {name: value / max(count, 1) for name, value in totals.items()}


def train(
    config: TrainConfig,
    model: torch.nn.Module,
    forward: ForwardFn,
    batches: Iterable[Batch],
    held_out: Sequence[Batch] = (),
    run_config: object | None = None,
) -> TrainResult:
    """Train `model` for config.max_steps updates of `forward`'s (prediction, target) under config.target.

    Only `model`'s parameters with requires_grad are optimised: a frozen part (e.g. the simulator behind
    an SR model) may live inside `model`. `run_config`: the trainer's own config dataclass (holding
    `config`), recorded in each checkpoint's config.json instead of `config` alone.
    """
    run = setup(config, model, batches, run_config)
    stream = resumed_stream(run, batches)
    result = TrainResult(
        run.start_step,
        {},
        [],
        None,
        first_step=run.start_step,
        processes=run.accelerator.num_processes,
        mixed_precision=run.accelerator.mixed_precision,
    )
    last_step = min(config.max_steps, config.stop_at_step or config.max_steps)
    progress = tqdm(
        range(run.start_step, last_step),
        initial=run.start_step,
        total=config.max_steps,
        disable=not (config.progress_bar and run.accelerator.is_main_process),
    )
    for step in progress:
        done = step + 1
        losses = STEPS[config.gan_step](run, forward, stream, done)
        result.step, result.last_losses = done, losses
        result.update_seconds.append(losses["seconds"])
        result.data_seconds.append(losses["data_seconds"])
        if run.accelerator.is_main_process:
            run.loss_log.write({"step": done, **losses})
            run.accelerator.log(dict(losses), step=done)
            progress.set_postfix(loss=f"{losses['loss']:.4f}")
        if held_out and (done % config.eval_every == 0 or done == config.max_steps):
            result.held_out.append(held_out_check(run, forward, held_out, done))
        if done % config.checkpoint_every == 0 or done in (config.max_steps, config.stop_at_step):
            result.checkpoint = checkpoint(run, batches, done) or result.checkpoint
    result.skipped = skipped_over_ranks(batches)
    result.last_losses = mean_over_ranks(result.last_losses)
    result.main_process = run.accelerator.is_main_process
    run.accelerator.end_training()
    return result


@dataclass
class Run:
    """What setup() builds and every later stage uses."""

    config: TrainConfig
    accelerator: Accelerator
    model: torch.nn.Module
    criterion: RestorationLoss
    discriminator: torch.nn.Module | None
    states: dict[str, object]  # optimisers and schedulers by name
    ema: ParameterEMA | None
    output_dir: Path
    recorded_config: dict
    resume: Path | None
    start_step: int
    loss_log: CsvLog | None = None
    held_out_log: CsvLog | None = None
    sample_log: CsvLog | None = None


def setup(config: TrainConfig, model: torch.nn.Module, batches: Iterable[Batch], run_config: object | None) -> Run:
    """Accelerate, loss, discriminator, AdamW + schedule, EMA, and the restored checkpoint (if resuming)."""
    output_dir = Path(config.output_dir)
    if config.resume_from == "latest" and latest_checkpoint(output_dir) is None:
        raise ValueError(
            f"--resume latest: {output_dir} holds no complete checkpoint to resume: leave --resume out to start "
            "from step 0, or name a checkpoint folder"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(),  # several CPU processes (torchrun): gloo
        mixed_precision=config.mixed_precision,
        project_dir=str(output_dir),
        log_with="tensorboard" if config.tensorboard else None,
    )
    if config.tensorboard:
        accelerator.init_trackers("tensorboard")
    set_seed(config.seed)
    lpips_model = (
        load_lpips(config.lpips_pretrained_backbone, config.lpips_net) if config.target == "perceptual" else None
    )
    criterion = RestorationLoss(
        config.target, lpips_model, config.loss_weights, config.gan_loss, config.discriminator_loss_weight
    ).to(accelerator.device)
    discriminator = (
        build_discriminator(config.discriminator, config.discriminator_channels)
        if criterion.uses_discriminator
        else None
    )

    def adamw_with_schedule(module: torch.nn.Module) -> tuple[torch.optim.Optimizer, object]:
        parameters = [p for p in module.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
        return optimizer, get_scheduler(
            config.lr_scheduler, optimizer, num_warmup_steps=config.warmup_steps, num_training_steps=config.max_steps
        )

    if config.gradient_checkpointing and not enable_gradient_checkpointing(model):
        raise ValueError(
            f"gradient_checkpointing: {type(model).__name__} has no part that supports it "
            f"(only the SD-Turbo-based simulator and S3Diff generator do)"
        )
    optimizer, scheduler = adamw_with_schedule(model)
    states: dict[str, object] = {"optimizer": optimizer, "scheduler": scheduler}
    if discriminator is not None:
        states["discriminator_optimizer"], states["discriminator_scheduler"] = adamw_with_schedule(discriminator)
    ema = ParameterEMA(model, config.ema_decay) if config.ema_decay else None
    resume = latest_checkpoint(output_dir) if config.resume_from == "latest" else config.resume_from
    recorded_config = dataclasses.asdict(run_config if run_config is not None else config)
    if hasattr(batches, "settings"):
        recorded_config["data"] = batches.settings()
    if resume:
        check_resume_config(resume, recorded_config)
    start_step = load_checkpoint(resume, model, discriminator, states, ema) if resume else 0
    model, states["optimizer"] = accelerator.prepare(model, optimizer)
    if discriminator is not None:
        discriminator, states["discriminator_optimizer"] = accelerator.prepare(
            discriminator, states["discriminator_optimizer"]
        )
    run = Run(
        config,
        accelerator,
        model,
        criterion,
        discriminator,
        states,
        ema,
        output_dir,
        recorded_config,
        Path(resume) if resume else None,
        start_step,
    )
    if accelerator.is_main_process:
        run.loss_log = CsvLog(
            output_dir / "losses.csv",
            [
                "step",
                "lr",
                "loss",
                "mse",
                "lpips",
                "gan",
                "discriminator",
                "rate_loss",
                "rate_error",
                "seconds",
                "data_seconds",
            ],
            start_step,
        )
        run.held_out_log = CsvLog(output_dir / "held_out.csv", ["step", "mse", "psnr", "lpips"], start_step)
    if config.log_samples:
        (output_dir / "samples").mkdir(exist_ok=True)
        run.sample_log = CsvLog(
            output_dir / "samples" / f"rank-{accelerator.process_index:05d}.csv",
            ["step", "micro_step", "rank", "keys"],
            start_step,
        )
    return run


def resumed_stream(run: Run, batches: Iterable[Batch]) -> Iterator[Batch]:
    """The endless batch stream, positioned after what the resumed checkpoint had consumed."""
    if run.resume is None:
        return endless(batches)
    if hasattr(batches, "load_state_dict"):
        state = load_data_state(run.resume, run.accelerator.process_index, run.accelerator.num_processes)
        if state is not None:
            batches.load_state_dict(state)  # the loader continues exactly where the checkpoint was
            return endless(batches)
        LOG.warning(
            "%s has no loader state (an older checkpoint): replaying %d batches to resume",
            run.resume,
            run.start_step * run.config.gradient_accumulation_steps,
        )
    stream = endless(batches)
    for _ in range(run.start_step * run.config.gradient_accumulation_steps):  # the batches the resumed run consumed
        next(stream)
    return stream


def held_out_check(run: Run, forward: ForwardFn, held_out: Sequence[Batch], done: int) -> dict[str, float]:
    metrics = {"step": done, **evaluate(run.model, forward, run.criterion, held_out, run.accelerator.device)}
    if run.accelerator.is_main_process:
        run.held_out_log.write(metrics)
        run.accelerator.log({f"held_out/{k}": v for k, v in metrics.items() if k != "step"}, step=done)
    return metrics


def checkpoint(run: Run, batches: Iterable[Batch], done: int) -> Path | None:
    """Save the checkpoint (rank 0 writes it, with every rank's loader position); its folder on rank 0."""
    accelerator = run.accelerator
    data_states = gather_object([batches.state_dict()]) if hasattr(batches, "state_dict") else None
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return None
    discriminator = accelerator.unwrap_model(run.discriminator) if run.discriminator is not None else None
    return save_checkpoint(
        checkpoint_dir(run.output_dir, done),
        done,
        accelerator.unwrap_model(run.model),
        discriminator,
        run.states,
        run.ema,
        run.recorded_config,
        data_states,
    )
