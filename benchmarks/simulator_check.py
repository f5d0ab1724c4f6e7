"""The measured check of issue 5: how close is the trained simulator to the real codec, on held-out Kodak?

For each Kodak image (centre crop), codec and QP: the real codec output X̂ and its bpp; the simulator's
f_θ(X, c) at that c; and two baselines: identity (X) and a JPEG proxy at the same bpp. Distances to X̂:
PSNR (RGB) and MS-SSIM, per codec and bpp bucket. Then the direction check: only c changes.

    python -m benchmarks.simulator_check --checkpoint RUN/checkpoints/step-0000600
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch
from pytorch_msssim import ms_ssim

from codec_bindings import encode, psnr
from pipeline.crop import center_crop_resized
from pipeline.decode_image import decode_image
from training.inference import SimulatedCodec, load_simulator_checkpoint
from vrpsr_cli.arguments import int_list

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"
BUCKETS = ((0.0, 0.15), (0.15, 0.3), (0.3, 0.6), (0.6, 9.9))


def simulate(model: SimulatedCodec, clean: np.ndarray, codec: str, bpp: float) -> np.ndarray:
    return model(clean, codec, bpp)


def jpeg_at_rate(clean: np.ndarray, bpp: float) -> tuple[np.ndarray, float]:
    """The JPEG (OpenCV, 4:2:0) whose bpp is closest to ``bpp``."""
    best = None
    for quality in range(5, 101, 1):
        data = cv2.imencode(".jpg", clean[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
        rate = 8 * data.size / (clean.shape[0] * clean.shape[1])
        if best is None or abs(rate - bpp) < abs(best[1] - bpp):
            best = (data, rate)
    return cv2.imdecode(best[0], cv2.IMREAD_COLOR)[:, :, ::-1].copy(), best[1]


def msssim(a: np.ndarray, b: np.ndarray) -> float:
    def to_tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x).permute(2, 0, 1)[None].float()

    return float(ms_ssim(to_tensor(a), to_tensor(b), data_range=255))


def sharpness(image: np.ndarray) -> float:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


def load_model(checkpoint: Path) -> SimulatedCodec:
    """Any bpp-conditioned stage-1 checkpoint (its architecture from config.json), or jpeg-proxy."""
    model = load_simulator_checkpoint(str(checkpoint))
    if model.condition_input != "bpp":
        raise ValueError(f"{checkpoint}: a QP-conditioned simulator; use vrpsr eval simulator for it")
    return model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--kodak", type=Path, default=KODAK)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--qps", type=int_list, default=(26, 30, 34, 38, 42, 46))
    parser.add_argument("--codecs", default="x264,x265,vvenc")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    model = load_model(args.checkpoint)
    paths = sorted(args.kodak.glob("*.png"))[: args.images]
    rows = defaultdict(lambda: defaultdict(list))  # (codec, bucket) -> metric -> values
    for path in paths:
        clean, _ = center_crop_resized(decode_image(path.read_bytes(), path.name), args.size)
        for codec in args.codecs.split(","):
            for qp in args.qps:
                real = encode(clean, codec, qp=qp)
                bucket = next(b for b in BUCKETS if b[0] <= real.bpp < b[1])
                candidates = {
                    "simulator": simulate(model, clean, codec, real.bpp),
                    "identity": clean,
                    "jpeg": jpeg_at_rate(clean, real.bpp)[0],
                }
                for name, image in candidates.items():
                    rows[(codec, bucket)][f"{name}_psnr"].append(psnr(real.recon, image))
                    rows[(codec, bucket)][f"{name}_msssim"].append(msssim(real.recon, image))
    print(
        f"{len(paths)} Kodak images, {args.size}² centre crops, QPs {list(args.qps)}; distance to the real codec output"
    )
    print(
        f"{'codec':6} {'bpp':>10} {'n':>3} | {'PSNR sim':>8} {'ident':>6} {'jpeg':>6} | {'MS-SSIM sim':>11} {'ident':>6} {'jpeg':>6}"
    )
    wins = 0
    for (codec, bucket), metrics in sorted(rows.items()):
        mean = {name: statistics.mean(values) for name, values in metrics.items()}
        won = mean["simulator_psnr"] > max(mean["identity_psnr"], mean["jpeg_psnr"])
        wins += won
        print(
            f"{codec:6} {bucket[0]:.2f}-{bucket[1]:.2f} {len(metrics['simulator_psnr']):>3} | {mean['simulator_psnr']:8.2f} "
            f"{mean['identity_psnr']:6.2f} {mean['jpeg_psnr']:6.2f} | {mean['simulator_msssim']:11.4f} "
            f"{mean['identity_msssim']:6.4f} {mean['jpeg_msssim']:6.4f} {'' if won else '  <- simulator not best'}"
        )
    print(f"simulator best (PSNR) in {wins} of {len(rows)} codec x bpp buckets")
    direction_check(model, paths, args.size, args.codecs.split(","))


def direction_check(model: SimulatedCodec, paths: list[Path], size: int, codecs: list[str]) -> None:
    """Change only c: lower bpp should give a blurrier output, further from the input."""
    rates = (0.05, 0.1, 0.2, 0.4, 0.8)
    print("direction check (mean over images): bpp -> PSNR(output, input) / Laplacian variance")
    for codec in codecs:
        by_rate = defaultdict(list)
        for path in paths:
            clean, _ = center_crop_resized(decode_image(path.read_bytes(), path.name), size)
            for rate in rates:
                output = simulate(model, clean, codec, rate)
                by_rate[rate].append((psnr(clean, output), sharpness(output)))
        cells = [
            f"{rate}: {statistics.mean(p for p, _ in v):.2f} dB / {statistics.mean(s for _, s in v):.0f}"
            for rate, v in by_rate.items()
        ]
        psnrs = [statistics.mean(p for p, _ in by_rate[rate]) for rate in rates]
        monotone = all(a < b for a, b in itertools.pairwise(psnrs))
        print(f"  {codec}: " + " | ".join(cells) + f"  -> PSNR rises with bpp: {monotone}")
    clean, _ = center_crop_resized(decode_image(paths[0].read_bytes(), paths[0].name), size)
    outputs = {codec: simulate(model, clean, codec, 0.2).astype(np.int16) for codec in codecs}
    print(
        "  codec swap at 0.2 bpp, mean |difference|: "
        + ", ".join(f"{a} vs {b} {np.abs(outputs[a] - outputs[b]).mean():.2f}" for a, b in itertools.pairwise(codecs))
    )


if __name__ == "__main__":
    main()
