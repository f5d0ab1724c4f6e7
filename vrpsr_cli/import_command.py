"""vrpsr import-checkpoint KIND FILE OUT: a published S3Diff / VRPSR file -> our checkpoint folder."""

from __future__ import annotations

import argparse

# training.checkpoint_import.KINDS, listed here so that building the parser imports no torch (a test checks)
KIND_NAMES = ("de_net", "post_sr", "pre_sr", "s3diff", "simulator", "vrpsr_realesrgan", "vrpsr_s3diff")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "import-checkpoint",
        help="import a published S3Diff / VRPSR checkpoint",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("kind", choices=KIND_NAMES, help="which published file FILE is")
    parser.add_argument("file", help="the published file (read with torch.load(weights_only=True))")
    parser.add_argument("out", help="a new folder for the checkpoint (model.safetensors, config.json, imported.json)")
    parser.add_argument(
        "--pretrained",
        default=None,
        help="stabilityai/sd-turbo folder (or cached repo id): needed by the S3Diff-based kinds",
    )
    parser.add_argument(
        "--de-net",
        default=None,
        help="S3Diff's de_net.pth (or a folder imported as kind de_net): needed by the S3Diff-based kinds",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from training.checkpoint_import import KINDS, NEEDS_SD_TURBO

    options = {"pretrained": args.pretrained, "de_net": args.de_net} if args.kind in NEEDS_SD_TURBO else {}
    out = KINDS[args.kind](args.file, args.out, **options)
    print(f"imported {args.kind} {args.file} -> {out}")
    return 0
