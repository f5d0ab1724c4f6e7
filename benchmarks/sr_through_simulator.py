"""The measured check of issue 6: does training SR through the simulator help after the real codec?

Runs the evaluation protocol (evaluation/protocol.py: deterministic degradation, encode the
upsampled LQ at QP q -> target size R̄, rate-match each SR output to R̄ with the real codec) on Kodak
for SR checkpoints, and reports per model and codec the means of, against the clean image:
PSNR-Y, SSIM-Y, MS-SSIM (RGB, pytorch_msssim), and a sharpness statistic: the mean Sobel gradient
magnitude of the decoded picture divided by the clean picture's (1 = as sharp as the original).
Also the rate actually reached (bpp), the SR output's own PSNR-Y before the codec, and per-image wins
of the first model over the second.

    python -m benchmarks.sr_through_simulator --model through-sim=RUN_A/checkpoints/step-0000200 \
        --model no-sim=RUN_B/checkpoints/step-0000200 --model base=BASE/checkpoints/step-0000400 --size 192
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch
from pytorch_msssim import ms_ssim

from evaluation.config import EvalConfig
from evaluation.metrics import MetricSuite
from evaluation.pixel_metrics import psnr_y, ssim_y
from evaluation.protocol import evaluate
from training.inference import load_sr_checkpoint
from vrpsr_cli.arguments import int_list, name_list

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"
COLUMNS = ("bpp", "sr_psnr_y", "psnr_y", "ssim_y", "ms_ssim", "gradient_ratio")


def msssim(decoded: np.ndarray, clean: np.ndarray) -> float:
    planar = lambda x: torch.from_numpy(x).permute(2, 0, 1)[None].float()  # noqa: E731
    return float(ms_ssim(planar(decoded), planar(clean), data_range=255))


def gradient_energy(image: np.ndarray) -> float:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.mean(np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))))


def gradient_ratio(decoded: np.ndarray, clean: np.ndarray) -> float:
    return gradient_energy(decoded) / max(gradient_energy(clean), 1e-6)


def summarise(rows: list[dict], models: list[str]) -> str:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["model"], row["codec"])].append(row)
        groups[(row["model"], "all")].append(row)
    codecs = sorted({row["codec"] for row in rows}) + ["all"]
    lines = [f"{'model':<14}{'codec':<7}{'n':>4}" + "".join(f"{c:>16}" for c in COLUMNS)]
    for codec in codecs:
        for model in models:
            group = groups[(model, codec)]
            lines.append(
                f"{model:<14}{codec:<7}{len(group):>4}"
                + "".join(f"{statistics.fmean(r[c] for r in group):>16.4f}" for c in COLUMNS)
            )
    if len(models) >= 2:
        first, second = models[:2]
        paired = defaultdict(dict)
        for row in rows:
            paired[(row["image"], row["codec"], row["setting"])][row["model"]] = row
        pairs = [p for p in paired.values() if first in p and second in p]
        lines.append(f"\nper-image wins of {first} over {second} ({len(pairs)} image x codec x QP pairs):")
        for column in COLUMNS[2:]:
            wins = sum(p[first][column] > p[second][column] for p in pairs)
            gaps = [p[first][column] - p[second][column] for p in pairs]
            lines.append(f"  {column:<16} {wins:>3}/{len(pairs)}   mean difference {statistics.fmean(gaps):+.4f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, metavar="NAME=CHECKPOINT")
    parser.add_argument("--data", default=str(KODAK))
    parser.add_argument("--codecs", type=name_list, default=("x264", "x265", "vvenc"))
    parser.add_argument("--qps", type=int_list, default=(32, 37, 42))
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    models = {}
    for item in args.model:
        name, _, checkpoint = item.partition("=")
        models[name] = load_sr_checkpoint(checkpoint, scale=4)
    config = EvalConfig(
        data=args.data,
        codecs=tuple(args.codecs),
        qps=tuple(args.qps),
        size=args.size,
        limit=args.limit,
        metrics=("psnr_y", "ssim_y"),
        crop_images=0,
    )
    metrics = MetricSuite({"psnr_y": psnr_y, "ssim_y": ssim_y, "ms_ssim": msssim, "gradient_ratio": gradient_ratio})
    result = evaluate(config, models, metrics, progress=False)
    if args.out:
        args.out.write_text(json.dumps(result.rows, indent=1, default=str))
    print(f"{len(result.rows)} rows in {result.seconds:.0f} s; {config}")
    print(summarise(result.rows, list(models)))


if __name__ == "__main__":
    main()
