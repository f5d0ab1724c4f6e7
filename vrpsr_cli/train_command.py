"""vrpsr train simulator|...: the trainers (thin: builds typed configs, calls training/)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from vrpsr_cli.arguments import int_list, name_list, storage_options
from vrpsr_cli.generator_arguments import add_generator_arguments, generator_spec
from vrpsr_cli.warnings_log import warnings_logged_in


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train the codec simulator or an SR model")
    trainers = parser.add_subparsers(dest="trainer", required=True)
    simulator = trainers.add_parser(
        "simulator",
        help="stage 1: the rate-target codec simulator",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common_arguments(simulator)
    simulator.add_argument(
        "--backbone",
        choices=("small", "s3diff", "hyperprior"),
        default="small",
        help="hyperprior: a learned codec with a rate term toward the condition (Table 6)",
    )
    simulator.add_argument(
        "--condition-input",
        choices=("bpp", "qp"),
        default="bpp",
        help="Table 3 (b) qp: QP as input, with a rate head predicting the bpp",
    )
    simulator.add_argument("--no-prompt", action="store_true", help="Table 3 (c): vector only (empty prompts)")
    simulator.add_argument("--no-embedding", action="store_true", help="Table 3 (d): prompt only (no vector)")
    simulator.add_argument(
        "--rate-loss-weight", type=float, default=1.0, help="weight of the rate head / hyperprior rate term"
    )
    simulator.add_argument("--hyperprior-channels", type=int_list, default=(128, 192), help="N,M of the hyperprior")
    simulator.add_argument(
        "--pretrained", default=None, help="SD-Turbo folder (or cached repo id) for --backbone s3diff"
    )
    simulator.add_argument(
        "--s3diff-settings",
        default=None,
        help="S3DiffSettings as a JSON file, or a checkpoint folder to take them from (s3diff backbone)",
    )
    simulator.add_argument(
        "--init-from",
        default=None,
        help="start from a checkpoint's weights (ours, or imported: vrpsr import-checkpoint s3diff ...)",
    )
    simulator.add_argument(
        "--small-channels", type=int_list, default=(32, 64, 128), help="widths of the small simulator's levels"
    )
    simulator.set_defaults(run=warnings_logged_in("output_dir", run_simulator))
    add_sr_parser(trainers)
    add_post_parser(trainers)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments every trainer shares (data, schedule, checkpoints)."""
    parser.add_argument("--data", required=True, help="dataset root (local or s3://) made by vrpsr generate")
    parser.add_argument("--held-out", default=None, help="a dataset root for the held-out check")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument(
        "--config", type=Path, default=None, help="JSON file of TrainConfig fields (flags given override it)"
    )
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps (TrainConfig.max_steps)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--crop", type=int, default=None, help="training crop (default: --config's crop, else 256)")
    parser.add_argument("--codecs", type=name_list, default=None, help="codec groups to train on (default: all)")
    parser.add_argument("--qp-range", default="0-63", help="QPs the condition is drawn from, e.g. 26-48")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (per rank)")
    parser.add_argument(
        "--picture-dtype",
        choices=("uint8", "float32"),
        default="uint8",
        help="how pictures leave the loader workers (uint8: scaled to float on the device)",
    )
    parser.add_argument(
        "--storage-retry-seconds",
        type=float,
        default=300.0,
        help="how long an object-store outage is waited out before the run fails",
    )
    parser.add_argument(
        "--log-samples",
        action="store_true",
        help="every rank writes OUTPUT_DIR/samples/rank-N.csv: the keys of each batch per step",
    )
    parser.add_argument(
        "--stop-at-step",
        type=int,
        default=None,
        help="end after this update with a checkpoint (time-limited jobs); resume continues the schedule",
    )
    parser.add_argument("--target", choices=("perceptual", "mse"), default=None)
    parser.add_argument(
        "--discriminator",
        choices=("patch", "unet", "vision-aided-dino"),
        default=None,
        help="GAN discriminator (default: patch for the simulator, unet for SR/post, unless --config names one); "
        "vision-aided-dino is S3Diff's (DINO ViT-B/16 weights from the torch hub cache)",
    )
    parser.add_argument(
        "--lpips-net",
        choices=("alex", "vgg"),
        default=None,
        help="LPIPS backbone (default alex; S3Diff's loss uses vgg); weights from the torch hub cache",
    )
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--resume", default=None, help="a checkpoint folder or 'latest'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--s3-endpoint", default=None)
    parser.add_argument(
        "--mixed-precision",
        choices=("no", "fp16", "bf16"),
        default=None,
        help="GPU autocast (default: accelerate's launch config, else no)",
    )
    parser.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        help="recompute SD-Turbo activations in backward (s3diff backbones; less memory, ~30%% slower)",
    )


def train_config(args: argparse.Namespace, **defaults):
    """TrainConfig: `defaults`, then --config (JSON), then the flags that were given."""
    from training.loop import TrainConfig
    from training.presets import resolve_global_batch, split_data_fields

    fields = {**defaults, **split_data_fields(json.loads(args.config.read_text()) if args.config else {})[0]}
    fields = resolve_global_batch(fields, args.batch_size)  # configs/paper/*.json give global_batch_size
    overrides = {
        "output_dir": args.output_dir,
        "max_steps": args.steps,
        "target": args.target,
        "learning_rate": args.lr,
        "resume_from": args.resume,
        "seed": args.seed,
        "mixed_precision": args.mixed_precision,
        "gradient_checkpointing": args.gradient_checkpointing or None,
        "log_samples": args.log_samples or None,
        "stop_at_step": args.stop_at_step,
        "discriminator": args.discriminator,
        "lpips_net": args.lpips_net,
    }
    fields.update({name: value for name, value in overrides.items() if value is not None})
    if "max_steps" not in fields:
        raise ValueError("give --steps (or max_steps in --config)")
    return TrainConfig(**fields)


def data_config(args: argparse.Namespace, upsample_lq: bool = False):
    """The DataConfig of --data and the loader flags."""
    from shards.qp_pairs import SLIGHT_QP_OFFSET
    from training.data import DataConfig
    from training.presets import split_data_fields

    low, _, high = args.qp_range.partition("-")
    preset = split_data_fields(json.loads(args.config.read_text()) if args.config else {})[1]
    return DataConfig(
        root=args.data,
        batch_size=args.batch_size,
        crop=args.crop or preset.get("crop", 256),
        seed=args.seed,
        workers=args.workers,
        codecs=tuple(args.codecs) if args.codecs else None,
        qp_range=(int(low), int(high or low)),
        slight_qp_offset=0 if getattr(args, "supervision", None) == "clean" else SLIGHT_QP_OFFSET,  # QP-10 unread
        upsample_lq=upsample_lq,
        picture_dtype=args.picture_dtype,
        retry_seconds=args.storage_retry_seconds,
    )


def training_batches(args: argparse.Namespace, upsample_lq: bool = False) -> tuple:
    """(this rank's training batches, held-out batches) from --data / --held-out through the streaming loader.
    The rank is known here, before the loader exists: each rank streams its own part of every epoch."""
    from dataclasses import replace

    from training.data import held_out_batches, shard_batches
    from training.distributed import process_rank_and_world

    rank, world_size = process_rank_and_world()
    data, options = data_config(args, upsample_lq), storage_options(args.s3_endpoint)
    batches = shard_batches(data, rank, world_size, options)
    held_out = (
        held_out_batches(replace(data, root=args.held_out), count=4, storage_options=options) if args.held_out else []
    )
    return batches, held_out


def run_simulator(args: argparse.Namespace) -> int:
    from training.models.build import SimulatorArchitecture
    from training.trainers.simulator import SimulatorTrainConfig, train_simulator

    train = train_config(args)  # its errors (e.g. no --steps) come before any data is opened
    batches, held_out = training_batches(args)
    architecture = SimulatorArchitecture(
        codecs=onehot_codecs(batches),
        backbone=args.backbone,
        pretrained=args.pretrained,
        small_channels=tuple(args.small_channels),
        condition_input=args.condition_input,
        prompt=not args.no_prompt,
        embedding=not args.no_embedding,
        hyperprior_channels=tuple(args.hyperprior_channels),
    )
    config = SimulatorTrainConfig(train=train, architecture=architecture, rate_loss_weight=args.rate_loss_weight)
    config = with_s3diff_options(config, args)
    _report(train_simulator(config, batches, held_out), args)
    return 0


def onehot_codecs(batches) -> tuple[str, ...]:
    """The codec one-hot of the data (x264, x265, vvenc, then the dataset's others): the models' codecs."""
    from training.condition import CODEC_NAMES

    return tuple(getattr(getattr(batches, "dataset", None), "onehot_codecs", CODEC_NAMES))


# ---- vrpsr train sr / vrpsr train post (stage 2 and post-processing)


def add_sr_parser(trainers) -> None:
    sr = trainers.add_parser(
        "sr",
        help="stage 2: recompression-aware SR through the frozen simulator",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common_arguments(sr)
    add_generator_arguments(sr)
    add_simulator_arguments(sr, required=False)
    sr.add_argument("--no-simulator", action="store_true", help="plain fine-tuning without the simulator (baseline)")
    sr.add_argument(
        "--supervision",
        choices=("simulator", "real-codec", "clean"),
        default="simulator",
        help="target: f(X, c') at q-10, the real codec at q-10, or clean X",
    )
    sr.add_argument("--ste", action="store_true", help="straight-through: real codec forward, simulator backward")
    sr.add_argument("--joint-simulator", action="store_true", help="update the simulator too (one-stage variant)")
    sr.set_defaults(run=warnings_logged_in("output_dir", run_sr))


def add_post_parser(trainers) -> None:
    post = trainers.add_parser(
        "post",
        help="post-processing after the codec, alone or jointly with SR",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common_arguments(post)
    post.add_argument(
        "--mode",
        choices=("post", "sr-then-post", "joint"),
        default="post",
        help="post: h alone after a plain SR; sr-then-post: h after a recompression-aware SR "
        "(--init-weights); joint: SR and h together",
    )
    add_generator_arguments(post)
    add_simulator_arguments(post, required=True)
    post.add_argument("--post-channels", type=int_list, default=(32, 64, 128), help="widths of h's levels")
    post.add_argument("--post-blocks-per-level", type=int, default=2)
    post.add_argument("--post-init-weights", default=None, help="an earlier post checkpoint to start from")
    post.add_argument("--supervision", choices=("simulator", "real-codec", "clean"), default="simulator")
    post.add_argument("--ste", action="store_true", help="straight-through: h sees the real codec's output")
    post.set_defaults(run=warnings_logged_in("output_dir", run_post))


def add_simulator_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--simulator",
        required=required,
        default=None,
        help="stage-1 checkpoint folder (or a .safetensors file, e.g. its ema.safetensors), "
        "or jpeg-proxy (the differentiable JPEG proxy, Table 6)",
    )
    parser.add_argument(
        "--simulator-backbone",
        choices=("small", "s3diff", "hyperprior"),
        default=None,
        help="default: what the checkpoint's config.json records, else small",
    )
    parser.add_argument(
        "--simulator-pretrained",
        default=None,
        help="SD-Turbo folder for an s3diff simulator (default: the recorded one)",
    )
    parser.add_argument(
        "--simulator-small-channels",
        type=int_list,
        default=None,
        help="small simulator widths (default: the recorded ones, else 32,64,128)",
    )


def _stage_two_parts(args: argparse.Namespace):
    """TrainConfig (discriminator: flag, else --config, else unet), GeneratorSpec, SimulatorSpec or None."""
    from training.inference import simulator_spec_of

    train = train_config(args, discriminator="unet")
    generator = generator_spec(args)
    if generator.backbone == "s3diff" or args.s3diff_settings:
        settings = _chosen_s3diff_settings(args, args.init_weights, degradation_input_scale=4)
        generator = replace(generator, s3diff=settings or generator.s3diff)
    simulator = None
    if args.simulator:
        simulator = simulator_spec_of(
            args.simulator,
            backbone=args.simulator_backbone,
            pretrained=args.simulator_pretrained,
            small_channels=args.simulator_small_channels,
        )
    return train, generator, simulator


def with_s3diff_options(config, args: argparse.Namespace):
    """The simulator config with --init-from (e.g. an imported S3Diff, the paper's start) and the S3Diff
    settings (--init-from's recorded ones unless --s3diff-settings overrides them)."""
    if args.init_from:
        config = replace(config, init_from=args.init_from)
    if args.backbone == "s3diff" or args.s3diff_settings:
        settings = _chosen_s3diff_settings(args, args.init_from)
        config = replace(config, architecture=replace(config.architecture, s3diff=settings or None))
    return config


def _chosen_s3diff_settings(args: argparse.Namespace, init_from: str | None, **base) -> dict | None:
    """The S3Diff settings record (training/models/s3diff/settings_sources.py), None when all are defaults;
    the line saying where each came from is kept in args for the run's summary."""
    from training.models.s3diff.settings import S3DiffSettings
    from training.models.s3diff.settings_sources import choose_settings

    chosen = choose_settings(init_from, args.s3diff_settings, S3DiffSettings(**base))
    args.settings_sources = chosen.describe()
    return chosen.record if chosen.sources else None


def _report(result, args: argparse.Namespace | None = None) -> None:
    """The run's summary, printed once: by the main process (torchrun starts one process per GPU)."""
    if not result.main_process:
        return
    print(result.summary())
    if getattr(args, "settings_sources", None):
        print(args.settings_sources)
    for row in result.held_out[-1:]:
        print(f"held-out at step {row['step']}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "step"))


def run_sr(args: argparse.Namespace) -> int:
    from training.trainers.sr import SRTrainConfig, train_sr

    train, generator, simulator = _stage_two_parts(args)
    if (simulator is None) != args.no_simulator:
        raise ValueError("give --simulator CKPT, or --no-simulator for plain fine-tuning (not both)")
    batches, held_out = training_batches(args, upsample_lq=generator.scale == 1)
    generator = replace(generator, codecs=onehot_codecs(batches))
    config = SRTrainConfig(
        train=train,
        generator=generator,
        simulator=simulator,
        supervision=args.supervision,
        straight_through=args.ste,
        joint_simulator=args.joint_simulator,
        codecs=tuple(args.codecs or ()),
    )
    _report(train_sr(config, batches, held_out), args)
    return 0


def run_post(args: argparse.Namespace) -> int:
    from training.models.build import PostSpec
    from training.trainers.post import PostTrainConfig, train_post

    train, generator, simulator = _stage_two_parts(args)
    post = PostSpec(
        channels=tuple(args.post_channels),
        blocks_per_level=args.post_blocks_per_level,
        init_weights=args.post_init_weights,
    )
    config = PostTrainConfig(
        train=train,
        simulator=simulator,
        mode=args.mode,
        generator=generator,
        post=post,
        supervision=args.supervision,
        straight_through=args.ste,
        codecs=tuple(args.codecs or ()),
    )
    batches, held_out = training_batches(args, upsample_lq=generator.scale == 1)
    _report(train_post(config, batches, held_out), args)
    return 0
