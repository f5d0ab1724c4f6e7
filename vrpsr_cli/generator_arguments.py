"""The SR network flags of `vrpsr train sr|post` and the GeneratorSpec they make (thin: training/ builds it)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

BUILT_IN = ("rrdbnet", "s3diff")


def backbone_name(text: str) -> str:
    """rrdbnet, s3diff, py:MODULE:ATTR or spandrel:FILE."""
    source = text.partition(":")[0]
    if text in BUILT_IN or (source in ("py", "spandrel") and text.partition(":")[2]):
        return text
    raise argparse.ArgumentTypeError(
        f"backbone {text!r}: choose rrdbnet, s3diff, py:package.module:Attribute or spandrel:FILE.pth"
    )


def json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {text!r} ({error.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object of keyword arguments, got {text!r}")
    return value


def add_generator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backbone",
        type=backbone_name,
        default=None,
        help="default rrdbnet, or the network recorded by --resume / --init-weights' checkpoint; rrdbnet | s3diff | "
        "py:MODULE:ATTR (an nn.Module class or factory of your own) | spandrel:FILE.pth "
        "(a published ESRGAN, Compact, SwinIR, HAT, DAT, SPAN ... file: its weights are the start); "
        "the convention is training/models/backbone.py SRBackbone",
    )
    parser.add_argument(
        "--backbone-kwargs", type=json_object, default=None, help="py: backbone keyword arguments as a JSON object"
    )
    parser.add_argument(
        "--condition",
        default=None,
        help="py:/spandrel: codec conditioning: none | native (forward(lq, condition)) | bias[:MODULES] | "
        "film[:MODULES], MODULES = module names, glob patterns or class names (default: native when the "
        "network takes the condition, else bias on the architecture's default modules)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        choices=(4, 1),
        default=None,
        help="rrdbnet: 4 (default; from the S/4 LQ) or 1 (LQ upsampled, pixel-unshuffle); s3diff: 1; "
        "py:/spandrel: discovered from the network (checked when given)",
    )
    parser.add_argument("--pretrained", default=None, help="Real-ESRGAN .pth (rrdbnet) or SD-Turbo folder (s3diff)")
    parser.add_argument(
        "--s3diff-settings",
        default=None,
        help="S3DiffSettings as a JSON file, or a checkpoint folder to take them from (--backbone s3diff)",
    )
    parser.add_argument("--init-weights", "--init-from", default=None, help="an SR checkpoint folder to start from")
    parser.add_argument("--num-feat", type=int, default=64)
    parser.add_argument("--num-block", type=int, default=23)
    parser.add_argument("--num-grow-ch", type=int, default=32)
    parser.add_argument("--no-embed", action="store_true", help="no 4-D condition embedding in the SR model")


def recorded_generator(folder: str | Path | None):
    """The GeneratorSpec a checkpoint folder records (None when it is no folder or records none)."""
    from training.inference import generator_spec_of, read_run_config

    if folder is None or not (Path(folder).expanduser() / "config.json").is_file():
        return None
    record = read_run_config(folder)
    return generator_spec_of(record, str(folder)) if "generator" in record else None


def generator_spec(args: argparse.Namespace):
    """The GeneratorSpec of the flags; a named network's (py:, spandrel:) is resolved: scale, condition, source.
    Without --backbone, --resume takes the checkpoint's record and --init-weights the record of the run it
    names (every other generator flag then comes from the record)."""
    from training.checkpoint import latest_checkpoint
    from training.models.build import GeneratorSpec
    from training.models.open_backbones import open_source, resolved_generator_spec

    if args.backbone is None and args.resume:
        recorded = recorded_generator(latest_checkpoint(args.output_dir) if args.resume == "latest" else args.resume)
        if recorded is not None:
            return recorded
    if args.backbone is None and args.init_weights:  # start from an SR run (or import): its network, its weights
        recorded = recorded_generator(args.init_weights)
        if recorded is not None:
            return replace(recorded, init_weights=args.init_weights)
    args.backbone = args.backbone or "rrdbnet"
    named = open_source(args.backbone) is not None
    if not named and (args.backbone_kwargs is not None or args.condition is not None):
        raise ValueError(f"--backbone-kwargs and --condition are for py: and spandrel: backbones, not {args.backbone}")
    scale = args.scale or (1 if args.backbone == "s3diff" else 4)
    spec = GeneratorSpec(
        backbone=args.backbone,
        scale=scale,
        num_feat=args.num_feat,
        num_block=args.num_block,
        num_grow_ch=args.num_grow_ch,
        embed=not args.no_embed,
        pretrained=args.pretrained,
        init_weights=args.init_weights,
        backbone_kwargs=args.backbone_kwargs,
        condition=args.condition,
    )
    if named:
        spec = resolved_generator_spec(spec)
        if args.scale is not None and args.scale != spec.scale:
            raise ValueError(f"--scale {args.scale}: {args.backbone} is a x{spec.scale} network")
        if spec.scale not in (1, 4):
            raise ValueError(
                f"{args.backbone} is a x{spec.scale} network; vrpsr trains x4 (from the S/4 LQ) and x1 (LQ upsampled)"
            )
    return spec
