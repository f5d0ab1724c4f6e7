"""Bring your own SR network: train a small network of your own through the codec simulator, then evaluate it
from its checkpoint alone.

    python examples/custom_backbone.py --data DATASET --pictures HELD_OUT --out runs/custom

DATASET: shards made by ``vrpsr generate``; HELD_OUT: pictures for the evaluation (a folder, a .txt list or an
image). The script runs the same commands you would type (they are printed first):

  1. vrpsr train simulator   a small codec simulator f_theta (skipped with --simulator CKPT)
  2. vrpsr train sr          TinySR below, through the frozen simulator; ``--backbone py:custom_backbone:TinySR``
                             names it, and the checkpoint records that name, so nothing else is needed later
  3. vrpsr eval              the Table 1 protocol on HELD_OUT, TinySR rebuilt from ``checkpoint:RUN/...``

TinySR follows the SRBackbone convention (training/models/backbone.py): forward(lq) takes the degraded
picture in [0, 1] at 1/4 of the output size and returns the x4 picture in [0, 1]. It knows nothing of codecs:
the default condition adapter adds a per-channel bias, computed from the codec and the bpp by a
zero-initialised head, after each of its Conv2d layers (``--condition film:body`` would FiLM its body).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class TinySR(nn.Module):
    """x4 SR: three 3x3 convs and a pixel shuffle, added to the bicubically upsampled input."""

    scale = 4  # tells vrpsr the factor (without it, a probe forward measures it)

    def __init__(self, width: int = 16):
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.body = nn.Conv2d(width, width, 3, padding=1)
        self.tail = nn.Conv2d(width, 3 * 16, 3, padding=1)

    def forward(self, lq: torch.Tensor) -> torch.Tensor:
        features = F.leaky_relu(self.body(F.leaky_relu(self.head(lq), 0.2)), 0.2)
        upsampled = F.interpolate(lq, scale_factor=4, mode="bicubic", align_corners=False)
        return upsampled + F.pixel_shuffle(self.tail(features), 4)


def run(arguments: list[str]) -> None:
    """One vrpsr command, printed as you would type it; a failure stops the example."""
    from vrpsr_cli.main import main

    print("$ vrpsr " + shlex.join(arguments), flush=True)
    if main(arguments) != 0:
        raise SystemExit(f"vrpsr {arguments[0]} failed")


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="training shards (vrpsr generate)")
    parser.add_argument("--pictures", required=True, help="held-out pictures for vrpsr eval")
    parser.add_argument("--out", required=True, help="folder for the runs and the results")
    parser.add_argument("--simulator", default=None, help="a stage-1 checkpoint (default: train a small one)")
    parser.add_argument("--steps", type=int, default=200, help="SR (and simulator) training steps")
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--qp-range", default="26-48")
    parser.add_argument("--codecs", default="x264", help="codecs of the evaluation")
    parser.add_argument("--size", type=int, default=256, help="evaluation crop size")
    args = parser.parse_args(argv)
    out = Path(args.out)
    loader = ["--data", args.data, "--crop", str(args.crop), "--batch-size", "4", "--workers", "0"]
    loader += ["--qp-range", args.qp_range, "--steps", str(args.steps), "--target", "mse"]
    simulator = args.simulator
    if simulator is None:
        run(["train", "simulator", *loader, "--output-dir", str(out / "simulator"), "--small-channels", "16,32"])
        simulator = str(out / "simulator" / "checkpoints" / f"step-{args.steps:07d}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # `custom_backbone` importable by vrpsr, as py:
    backbone = f"py:{Path(__file__).stem}:TinySR"
    sr = out / "sr"
    run(["train", "sr", *loader, "--output-dir", str(sr), "--simulator", simulator, "--backbone", backbone])
    checkpoint = sr / "checkpoints" / f"step-{args.steps:07d}"
    results = out / "results"
    evaluation = ["eval", "--data", args.pictures, "--out", str(results), "--model", f"tiny=checkpoint:{checkpoint}"]
    evaluation += ["--baseline", "bicubic", "--codecs", args.codecs, "--size", str(args.size), "--no-progress"]
    run([*evaluation, "--metrics", "psnr_y,ssim_y"])
    print((results / "summary.md").read_text())
    return results


if __name__ == "__main__":
    main()
