"""A real simulator comparison on our shards (issue 15): small simulator vs hyperprior vs JPEG proxy vs identity.

1. Makes a dataset from the first `--train-images` Kodak pictures (our shard jobs, in process: base +
   x264/x265/vvenc over a QP grid), the rest of Kodak held out.
2. Trains the small simulator (to the real codec's output; again with QP as input and a rate head, Table 3
   (b)) and the hyperprior codec (to the clean picture, rate term toward the condition's bpp) briefly on
   CPU through the streaming loader (MSE target).
3. Runs `vrpsr eval simulator`'s study on the held-out pictures: fidelity to the real codec per codec and
   bpp bucket (Table 3 layout), r² of simulator vs real metrics (Table 4), and prints both.

    python -m benchmarks.simulator_fidelity --out /tmp/simulator-fidelity   (about 15 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from evaluation.metrics import build_metrics
from evaluation.models import Identity
from evaluation.simulator_fidelity import FidelityConfig, simulator_fidelity
from evaluation.simulator_report import fidelity_markdown, write_fidelity_report
from pipeline.config import FactoryConfig
from pipeline.in_process import generate_in_process
from training.data import DataConfig, shard_batches
from training.inference import load_simulator_checkpoint
from training.loop import TrainConfig
from training.models.build import SimulatorArchitecture
from training.trainers.simulator import SimulatorTrainConfig, train_simulator
from vrpsr_cli.arguments import int_list

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


def make_dataset(out: Path, images: list[Path], size: int, qps: tuple[int, ...], codecs: tuple[str, ...]) -> Path:
    """What `vrpsr generate` writes, made in this process (no Ray)."""
    listing = out.parent / "train-images.txt"
    listing.write_text("".join(f"{path}\n" for path in images))
    generate_in_process(
        FactoryConfig(source=str(listing), out=str(out), codecs=codecs, qps=qps, size=size, shard_size=8)
    )
    return out


def train(
    name: str,
    out: Path,
    dataset: Path,
    architecture: SimulatorArchitecture,
    steps: int,
    crop: int,
    learning_rate: float,
    qp_range: tuple[int, int],
) -> Path:
    data = DataConfig(root=str(dataset), batch_size=4, crop=crop, workers=1, qp_range=qp_range)
    config = SimulatorTrainConfig(
        TrainConfig(
            str(out / name),
            max_steps=steps,
            learning_rate=learning_rate,
            target="mse",
            warmup_steps=20,
            checkpoint_every=steps,
            progress_bar=False,
        ),
        architecture,
    )
    started = time.perf_counter()
    result = train_simulator(config, shard_batches(data, 0, 1))
    rate = f", rate error {result.last_losses['rate_error']:.3f}" if "rate_error" in result.last_losses else ""
    print(
        f"{name}: {steps} steps in {time.perf_counter() - started:.0f} s, last loss {result.last_losses['loss']:.4f}{rate}"
    )
    return result.checkpoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--kodak", type=Path, default=KODAK)
    parser.add_argument("--train-images", type=int, default=18)
    parser.add_argument("--held-out", type=int, default=6)
    parser.add_argument("--codecs", default="x264,x265,vvenc")
    parser.add_argument("--qps", type=int_list, default="17-47/5", help="the dataset's QP grid")
    parser.add_argument(
        "--eval-qps",
        type=int_list,
        default="27-47/5",
        help="conditions trained on and evaluated (each needs q - 10 in the grid)",
    )
    parser.add_argument("--steps", type=int, default=400, help="training steps of the small simulator")
    parser.add_argument("--hyperprior-steps", type=int, default=1500, help="training steps of the hyperprior")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument(
        "--no-qp-variant", action="store_true", help="skip Table 3 (b): the small simulator with QP input"
    )
    parser.add_argument("--size", type=int, default=256, help="dataset pictures and evaluation crops")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    codecs = tuple(args.codecs.split(","))
    paths = sorted(args.kodak.glob("*.png"))
    train_paths, held_out = paths[: args.train_images], paths[args.train_images : args.train_images + args.held_out]
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    dataset = make_dataset(args.out / "dataset", train_paths, args.size, tuple(args.qps), codecs)
    print(
        f"dataset: {len(train_paths)} Kodak pictures, {args.size} px, {', '.join(codecs)} at QPs {list(args.qps)} "
        f"in {time.perf_counter() - started:.0f} s"
    )
    qp_range = (min(args.eval_qps), max(args.eval_qps))
    small_architecture = SimulatorArchitecture(small_channels=(16, 32, 64), small_blocks_per_level=1)
    small = train("small", args.out, dataset, small_architecture, args.steps, args.crop, 2e-3, qp_range)
    trained = {"small": small}
    if not args.no_qp_variant:  # Table 3 (b): the same simulator with QP as input and a rate head
        trained["small-qp-input"] = train(
            "small-qp-input",
            args.out,
            dataset,
            replace(small_architecture, condition_input="qp"),
            args.steps,
            args.crop,
            2e-3,
            qp_range,
        )
    hyperprior = train(
        "hyperprior",
        args.out,
        dataset,
        SimulatorArchitecture(backbone="hyperprior", hyperprior_channels=(48, 64)),
        args.hyperprior_steps,
        args.crop,
        2e-3,
        (min(args.eval_qps), max(args.eval_qps)),
    )
    folder = args.out / "held-out"
    folder.mkdir(exist_ok=True)
    for path in held_out:
        (folder / path.name).write_bytes(path.read_bytes())
    simulators = {
        **{label: load_simulator_checkpoint(str(path)) for label, path in trained.items()},
        "hyperprior": load_simulator_checkpoint(str(hyperprior)),
        "jpeg-proxy": load_simulator_checkpoint("jpeg-proxy"),
        "identity": Identity(),
    }
    metrics = build_metrics(("psnr_rgb", "ssim_rgb", "lpips_alex", "dists", "fid"))
    for metric, reason in metrics.unavailable.items():
        print(f"{metric} not measured: {reason.split(':')[0]}")
    config = FidelityConfig(
        data=str(folder),
        codecs=codecs,
        qps=tuple(args.eval_qps),
        size=args.size,
        limit=len(held_out),
        bpp_edges=(0.2, 0.5, 1.0, 2.0),
    )
    result = simulator_fidelity(config, simulators, metrics)
    write_fidelity_report(result, args.out / "report")
    print(fidelity_markdown(result))
    print(f"total {time.perf_counter() - started:.0f} s; report in {args.out / 'report'}")


if __name__ == "__main__":
    main()
