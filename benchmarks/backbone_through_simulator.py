"""Measured for issue 22: a spandrel Compact network trained through the small simulator vs without it.

Runs the commands a user would (each printed), on the CPU:
  1. vrpsr generate      training shards from the first --train-images pictures of --pictures
  2. vrpsr train simulator   the small simulator, --steps updates
  3. a Real-ESRGAN Compact .pth made with spandrel's own class (random weights: no published file here)
  4. vrpsr train sr --backbone spandrel:compact.pth   --steps updates through the simulator, and the same
     with --no-simulator --supervision clean (same seed, data and starting weights)
  5. vrpsr eval (the Table 1 protocol) on --held-out pictures: PSNR-Y / SSIM-Y BD-rate vs bicubic per codec

    python -m benchmarks.backbone_through_simulator --pictures ../shared/data/imagenet-sample \
        --held-out ../shared/data/kodak --out /tmp/backbone-bench --steps 300
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

import torch

from vrpsr_cli.main import main as vrpsr

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def run(arguments: list[str]) -> float:
    """One vrpsr command (printed); its wall time in seconds."""
    print("$ vrpsr " + shlex.join(arguments), flush=True)
    start = time.perf_counter()
    if vrpsr(arguments) != 0:
        raise SystemExit(f"vrpsr {arguments[0]} failed")
    return time.perf_counter() - start


def picture_list(folder: Path, first: int, count: int, out: Path) -> Path:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[first : first + count]
    out.write_text("".join(f"{path.resolve()}\n" for path in paths))
    return out


def compact_file(out: Path, num_feat: int, num_conv: int) -> Path:
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    torch.save({"params": Compact(num_feat=num_feat, num_conv=num_conv, upscale=4).state_dict()}, out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pictures", type=Path, required=True, help="training pictures (folder)")
    parser.add_argument("--held-out", type=Path, required=True, help="evaluation pictures (folder), none trained on")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--train-images", type=int, default=48)
    parser.add_argument("--eval-images", type=int, default=8)
    parser.add_argument("--codecs", default="x264,x265")
    parser.add_argument("--compact", default="32,8", help="Compact num_feat,num_conv")
    parser.add_argument("--eval-size", type=int, default=256)
    args = parser.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    seconds = {}
    train_list = picture_list(args.pictures, 0, args.train_images, out / "train.txt")
    seconds["generate"] = run(
        [
            *("generate", str(train_list), str(out / "dataset"), "--codecs", args.codecs, "--qps", "22-48/2"),
            *("--size", "128", "--shard-size", "16", "--workers", "2", "--no-progress"),
        ]
    )
    loader = ["--data", str(out / "dataset"), "--crop", "64", "--batch-size", "4", "--workers", "0"]
    loader += ["--qp-range", "32-48", "--steps", str(args.steps), "--target", "mse", "--seed", "0"]
    simulator = out / "simulator"
    seconds["simulator"] = run(
        ["train", "simulator", *loader, "--output-dir", str(simulator), "--small-channels", "16,32"]
    )
    checkpoint = f"checkpoints/step-{args.steps:07d}"
    num_feat, num_conv = (int(v) for v in args.compact.split(","))
    backbone = ["--backbone", f"spandrel:{compact_file(out / 'compact.pth', num_feat, num_conv)}"]
    through = ["--simulator", str(simulator / checkpoint)]
    sr = ["train", "sr", *loader, *backbone, "--discriminator", "patch"]
    seconds["sr through simulator"] = run([*sr, "--output-dir", str(out / "through-sim"), *through])
    seconds["sr without"] = run([*sr, "--output-dir", str(out / "no-sim"), "--no-simulator", "--supervision", "clean"])
    held_out = picture_list(args.held_out, 0, args.eval_images, out / "held_out.txt")
    seconds["eval"] = run(
        [
            *("eval", "--data", str(held_out), "--out", str(out / "results"), "--baseline", "bicubic"),
            *("--model", f"through-sim=checkpoint:{out / 'through-sim' / checkpoint}"),
            *("--model", f"no-sim=checkpoint:{out / 'no-sim' / checkpoint}"),
            *("--codecs", args.codecs, "--qps", "32,37,42,47", "--size", str(args.eval_size)),
            *("--metrics", "psnr_y,ssim_y", "--no-progress"),
        ]
    )
    print((out / "results" / "summary.md").read_text())
    print("seconds: " + ", ".join(f"{name} {value:.0f}" for name, value in seconds.items()))


if __name__ == "__main__":
    main()
