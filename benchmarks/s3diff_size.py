"""The S3Diff backbone at SD-Turbo size with random weights: adapted layers, parameter counts, step time.

    python -m benchmarks.s3diff_size [--size 512] [--device cuda] [--modulation vrpsr|film] [--backward]

Prints the number of LoRA-adapted layers (UNet / VAE encoder), trainable parameters per part, and the
median seconds of a forward (and backward with --backward) at batch 1. Random weights: the numbers are
about the code, not about quality. Measured on the shared 2-core CPU box (load ~3): 257 UNet and 31 VAE
LoRA layers; trainable 32.43 M (UNet LoRA) + 1.48 M (VAE LoRA) + 0.01 M (conv_in) + 0.55 M
(degradation MLPs) + 198.53 M (VRPSR condition MLPs; 11.81 M with --modulation film); forward+backward
at 128 x 128 (vrpsr): 10.2 s; forward at 64 x 64 (film): 1.3 s. No GPU was drawn for this measurement.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import CLIPTextConfig

from benchmarks.gpu_smoke import SCHEDULER, TEXT, UNET, VAE, character_tokenizer
from training.condition import condition_vector
from training.models.s3diff.settings import S3DiffSettings
from training.models.simulator import CodecSimulator


def part_of(name: str) -> str:
    if "lora_" in name:
        return "unet LoRA" if name.startswith("unet.") else "vae LoRA"
    return "unet.conv_in" if name.startswith("unet.conv_in") else name.split(".")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--modulation", choices=("vrpsr", "film"), default="vrpsr")
    parser.add_argument("--backward", action="store_true")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    tokenizer = character_tokenizer()
    started = time.perf_counter()
    model = CodecSimulator.from_configs(
        VAE,
        UNET,
        CLIPTextConfig(vocab_size=len(tokenizer.get_vocab()), **TEXT),
        tokenizer,
        SCHEDULER,
        S3DiffSettings(modulation=args.modulation),
    )
    model.to(args.device)
    print(
        f"built in {time.perf_counter() - started:.1f} s; LoRA layers: unet {len(model.unet_lora)}, "
        f"vae {len(model.vae_lora)}"
    )
    counts: dict[str, int] = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            counts[part_of(name)] = counts.get(part_of(name), 0) + parameter.numel()
    print(
        "trainable:",
        ", ".join(f"{part} {count / 1e6:.2f} M" for part, count in counts.items()),
        f"(total {sum(counts.values()) / 1e6:.2f} M)",
    )
    image = torch.rand(1, 3, args.size, args.size, device=args.device) * 2 - 1
    condition = condition_vector("x264", 0.3)[None].to(args.device)
    seconds = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        with torch.set_grad_enabled(args.backward):
            output = model(image, condition)
            if args.backward:
                output.square().mean().backward()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    kind = "forward+backward" if args.backward else "forward"
    print(f"{kind} at {args.size} x {args.size}: median {statistics.median(seconds):.2f} s over {args.repeats}")


if __name__ == "__main__":
    main()
