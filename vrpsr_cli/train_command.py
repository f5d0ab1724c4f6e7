"""vrpsr train simulator|...: the trainers (thin: builds typed configs, calls training/)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from vrpsr_cli.arguments import int_list, name_list, storage_options


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train the codec simulator or an SR model")
    trainers = parser.add_subparsers(dest="trainer", required=True)
    simulator = trainers.add_parser("simulator", help="stage 1: the rate-target codec simulator",
                                    formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    add_common_arguments(simulator)
    simulator.add_argument("--backbone", choices=("small", "s3diff"), default="small")
    simulator.add_argument("--pretrained", default=None, help="SD-Turbo folder (or cached repo id) for --backbone s3diff")
    simulator.add_argument("--small-channels", type=int_list, default=(32, 64, 128), help="widths of the small simulator's levels")
    simulator.set_defaults(run=run_simulator)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments every trainer shares (data, schedule, checkpoints)."""
    parser.add_argument("--data", required=True, help="dataset root (local or s3://) made by vrpsr generate")
    parser.add_argument("--held-out", default=None, help="a dataset root for the held-out check")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--config", type=Path, default=None, help="JSON file of TrainConfig fields (flags given override it)")
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps (TrainConfig.max_steps)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--codecs", type=name_list, default=None, help="codec groups to train on (default: all)")
    parser.add_argument("--qp-range", default="0-63", help="QPs the condition is drawn from, e.g. 26-48")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    parser.add_argument("--target", choices=("perceptual", "mse"), default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--resume", default=None, help="a checkpoint folder or 'latest'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--s3-endpoint", default=None)


def train_config(args: argparse.Namespace):
    """TrainConfig from --config (JSON) with the flags that were given on top."""
    from training.loop import TrainConfig

    fields = json.loads(args.config.read_text()) if args.config else {}
    overrides = {"output_dir": args.output_dir, "max_steps": args.steps, "target": args.target, "learning_rate": args.lr,
                 "resume_from": args.resume, "seed": args.seed}  # fmt: skip
    fields.update({name: value for name, value in overrides.items() if value is not None})
    if "max_steps" not in fields:
        raise ValueError("give --steps (or max_steps in --config)")
    return TrainConfig(**fields)


def data_options(args: argparse.Namespace) -> dict:
    low, _, high = args.qp_range.partition("-")
    return {"codecs": args.codecs, "qp_range": (int(low), int(high or low)), "storage_options": storage_options(args.s3_endpoint)}


def run_simulator(args: argparse.Namespace) -> int:
    from training.data import held_out_batches, shard_batches
    from training.train_simulator import SimulatorTrainConfig, train_simulator

    config = SimulatorTrainConfig(train=train_config(args), backbone=args.backbone, pretrained=args.pretrained,
                                  small_channels=tuple(args.small_channels))  # fmt: skip
    options = data_options(args)
    batches = shard_batches(args.data, args.batch_size, args.crop, seed=args.seed, workers=args.workers, **options)
    held_out = held_out_batches(args.held_out, args.batch_size, args.crop, count=4, **options) if args.held_out else []
    result = train_simulator(config, batches, held_out)
    print(f"trained to step {result.step}; last losses {result.last_losses}; checkpoint {result.checkpoint}")
    for row in result.held_out[-1:]:
        print(f"held-out at step {row['step']}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "step"))
    return 0
