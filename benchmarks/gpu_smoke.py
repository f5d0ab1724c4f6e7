"""Real-size smoke run of the trainers on a GPU: SD-Turbo-shaped simulator, full RRDBNet, S3Diff SR.

No weights can be downloaded, so the SD-Turbo parts are built at their published sizes with random
weights, saved with `save_pretrained`, and loaded back through the trainers' own `from_pretrained`
path; the tokenizer is character-level (SD-Turbo's BPE vocabulary is not here). The numbers are
therefore about the code (memory, seconds per update, resume), not about quality. Each stage is one
`vrpsr train ...` command run in this process so that peak GPU memory can be read after it.

    vrpsr generate KODAK_SUBSET DATASET --size 512 --qps 30,35,40,45,50 --shard-size 4   # q-10 must exist
    python -m benchmarks.gpu_smoke --data DATASET --work /tmp/smoke --steps 12 --out smoke.json

Measured on one H100 (batch 4, 512², bf16, 6 loader workers): simulator 0.57 s/update at 44 GiB
(0.79 s at 17 GiB with --gradient-checkpointing), RRDBNet through it 0.95 s at 51 GiB, S3Diff SR through
it 1.84 s at 26 GiB checkpointed (out of memory on 80 GB without).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import statistics
import time
from pathlib import Path

import torch

# stabilityai/sd-turbo's configs (SD 2.1 architecture at 512 px), weights random
UNET = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280, 1280),
    "attention_head_dim": (5, 10, 20, 20),
    "cross_attention_dim": 1024,
    "use_linear_projection": True,
    "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
}
VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "sample_size": 768,
    "scaling_factor": 0.18215,
}
TEXT = {
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 23,
    "num_attention_heads": 16,
    "hidden_act": "gelu",
    "max_position_embeddings": 77,
    "projection_dim": 512,
}
SCHEDULER = {
    "num_train_timesteps": 1000,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "prediction_type": "epsilon",
    "timestep_spacing": "trailing",
}
PROMPT_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789.{}"


def character_tokenizer():
    """A CLIP tokenizer over single characters: covers every prompt the condition writes."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for character in PROMPT_CHARACTERS:
        vocab[character] = len(vocab)
        vocab[character + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def write_random_sd_turbo(folder: Path) -> dict[str, int]:
    """SD-Turbo's folder layout with random weights; returns parameter counts per part."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = character_tokenizer()
    parts = {
        "unet": UNet2DConditionModel(**UNET),
        "vae": AutoencoderKL(**VAE),
        "text_encoder": CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(tokenizer.get_vocab()), bos_token_id=0, eos_token_id=1, pad_token_id=1, **TEXT
            )
        ),
    }
    for name, part in parts.items():
        part.save_pretrained(folder / name)
    tokenizer.save_pretrained(folder / "tokenizer")
    DDPMScheduler(**SCHEDULER).save_pretrained(folder / "scheduler")
    return {name: sum(p.numel() for p in part.parameters()) for name, part in parts.items()}


def run_stage(name: str, argv: list[str], output_dir: Path) -> dict:
    """One `vrpsr ...` command in this process: exit code, wall time, peak GPU memory, s/update."""
    from vrpsr_cli.main import main

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    held_before = torch.cuda.memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0
    started = time.perf_counter()
    code = main(argv)
    wall = time.perf_counter() - started
    rows = []
    if (output_dir / "losses.csv").is_file():
        with (output_dir / "losses.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    seconds = [float(r["seconds"]) for r in rows[1:] if r.get("seconds")] or [float("nan")]  # first: warm-up
    waits = [float(r["data_seconds"]) for r in rows[1:] if r.get("data_seconds")] or [float("nan")]
    result = {
        "stage": name,
        "exit": code,
        "wall_s": round(wall, 1),
        "rows": len(rows),
        "median_s_per_update": round(statistics.median(seconds), 3),
        "median_data_wait_s": round(statistics.median(waits), 4),
        "gib_held_before": round(held_before, 2),
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else 0.0,
        "last_loss": rows[-1]["loss"] if rows else None,
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a dataset made by vrpsr generate (--size >= --crop)")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--crop", type=int, default=512)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (checks the script; slow)")
    args = parser.parse_args()
    if not torch.cuda.is_available() and not args.allow_cpu:
        raise SystemExit("gpu_smoke needs a CUDA GPU (or --allow-cpu to check the script itself)")
    sd_turbo = args.work / "sd-turbo-random"
    started = time.perf_counter()
    counts = write_random_sd_turbo(sd_turbo)
    print(f"random SD-Turbo-shaped parts written in {time.perf_counter() - started:.0f} s: {counts}", flush=True)
    config = args.work / "train.json"
    config.write_text(
        json.dumps(
            {
                "mixed_precision": "bf16",
                "lpips_pretrained_backbone": False,
                "warmup_steps": 2,
                "checkpoint_every": args.steps,
                "progress_bar": False,
            }
        )
    )
    common = [
        "--data",
        args.data,
        "--config",
        str(config),
        "--batch-size",
        str(args.batch_size),
        "--crop",
        str(args.crop),
        "--workers",
        str(args.workers),
        "--qp-range",
        "26-50",
    ]
    simulator_run, results = args.work / "simulator", []
    results.append(
        run_stage(
            "simulator s3diff (bf16, 2 MSE + 5 LPIPS + 0.5 GAN)",
            [
                "train",
                "simulator",
                *common,
                "--output-dir",
                str(simulator_run),
                "--steps",
                str(args.steps),
                "--backbone",
                "s3diff",
                "--pretrained",
                str(sd_turbo),
            ],
            simulator_run,
        )
    )
    results.append(
        run_stage(
            "simulator s3diff, resumed for 2 more updates",
            [
                "train",
                "simulator",
                *common,
                "--output-dir",
                str(simulator_run),
                "--steps",
                str(args.steps + 2),
                "--backbone",
                "s3diff",
                "--pretrained",
                str(sd_turbo),
                "--resume",
                "latest",
            ],
            simulator_run,
        )
    )
    simulator = [
        "--simulator",
        str(simulator_run / f"checkpoints/step-{args.steps + 2:07d}"),
        "--simulator-backbone",
        "s3diff",
        "--simulator-pretrained",
        str(sd_turbo),
    ]
    checkpointing = ["--gradient-checkpointing"]
    for name, label, extra in (
        ("rrdbnet", "sr rrdbnet (23 RRDB, x4)", ["--backbone", "rrdbnet"]),
        (
            "s3diff",
            "sr s3diff --gradient-checkpointing",
            ["--backbone", "s3diff", "--pretrained", str(sd_turbo), *checkpointing],
        ),
    ):
        run = args.work / f"sr-{name}"
        results.append(
            run_stage(
                f"{label} through the s3diff simulator",
                ["train", "sr", *common, "--output-dir", str(run), "--steps", str(args.steps), *extra, *simulator],
                run,
            )
        )
    run = args.work / "simulator-checkpointing"
    results.append(
        run_stage(
            "simulator s3diff --gradient-checkpointing",
            [
                "train",
                "simulator",
                *common,
                "--output-dir",
                str(run),
                "--steps",
                str(args.steps),
                "--backbone",
                "s3diff",
                "--pretrained",
                str(sd_turbo),
                *checkpointing,
            ],
            run,
        )
    )
    print(f"{'stage':58s} {'exit':>4s} {'wall s':>7s} {'s/update':>9s} {'data wait s':>11s} {'peak GiB':>8s}")
    for r in results:
        print(
            f"{r['stage']:58s} {r['exit']:4d} {r['wall_s']:7.1f} {r['median_s_per_update']:9.3f} "
            f"{r['median_data_wait_s']:11.4f} {r['peak_gpu_gib']:8.2f}"
        )
    if args.out:
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
        args.out.write_text(
            json.dumps(
                {
                    "device": device,
                    "torch": torch.__version__,
                    "parameters": counts,
                    "batch_size": args.batch_size,
                    "crop": args.crop,
                    "stages": results,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
