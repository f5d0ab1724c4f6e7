"""vrpsr eval: the paper's evaluation protocol (rate-matched Table 1, or CRF as Table S4) for any SR model."""

from __future__ import annotations

import argparse
import sys
import time

from vrpsr_cli.arguments import float_list, int_list, name_list, storage_options
from vrpsr_cli.warnings_log import warnings_logged_in


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate SR models after real recompression: tables, BD-rate, t-tests, RD plots",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Models: identity | bicubic | nearest | checkpoint:RUN/checkpoints/step-N (vrpsr train sr|post) | "
        "NAME:ARG (a registered loader) | py:module:attribute. "
        "Each --model is compared with --baseline (which is evaluated too).",
    )
    parser.add_argument(
        "--data", required=True, help="images: a folder, .txt list, .tar, image file or 'sample'; local or s3://"
    )
    parser.add_argument("--out", required=True, help="results folder (created)")
    parser.add_argument(
        "--model",
        action="append",
        required=True,
        help="model to evaluate (repeatable); LABEL=SPEC names it in the tables",
    )
    parser.add_argument("--baseline", default="identity", help="the anchor of BDBR and t-tests (LABEL=SPEC too)")
    parser.add_argument("--codecs", type=name_list, default="x264,x265,vvenc", help="codecs of the recompression")
    parser.add_argument("--mode", choices=("qp", "crf"), default="qp", help="qp: rate-matched (Table 1); crf: Table S4")
    parser.add_argument("--qps", type=int_list, default="32,37,42,47", help="QPs q giving the target rates R̄")
    parser.add_argument(
        "--qualities", type=int_list, default="20,40,60,80", help="jpeg/webp: the qualities giving the target rates"
    )
    parser.add_argument("--crfs", type=float_list, default="23,28,33,38", help="CRFs (mode crf; x264/x265)")
    parser.add_argument("--size", type=int, default=512, help="centre crop size of the target")
    parser.add_argument("--degradation", default="s3diff", help="degradation preset: s3diff or realesrgan")
    parser.add_argument("--scale", type=int, default=4, help="SR factor of the degradation")
    parser.add_argument("--seed", type=int, default=0, help="degradation seed (with each image's name)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument(
        "--metrics",
        type=name_list,
        default=None,
        help="comma list of psnr_y,psnr_rgb,ssim_y,ssim_rgb,lpips_alex,lpips_vgg,dists,fid; none = all",
    )
    parser.add_argument(
        "--weights-dir", default=None, help="folder of pretrained metric weights; none = torch's hub checkpoints folder"
    )
    parser.add_argument("--device", default="cpu", help="torch device for the metric networks")
    parser.add_argument(
        "--bd-method", choices=("pchip", "akima", "cubic"), default="pchip", help="BD-rate interpolation"
    )
    parser.add_argument(
        "--simulator",
        default=None,
        help="simulator for the crop sheets (checkpoint:STAGE1_CKPT, jpeg-proxy, NAME:ARG or py:module:attribute)",
    )
    parser.add_argument(
        "--post",
        default=None,
        help="post-processing after the codec (checkpoint:POST_CKPT, NAME:ARG or py:module:attribute)",
    )
    parser.add_argument(
        "--color-fix",
        choices=("none", "adain", "wavelet"),
        default="none",
        help="pull colours toward the upsampled LQ input (the official VRPSR evaluation uses adain)",
    )
    parser.add_argument(
        "--color-fix-at",
        choices=("decoded", "sr"),
        default="decoded",
        help="decoded: the codec's output, as the official VRPSR evaluation; sr: the SR output before encoding",
    )
    parser.add_argument("--crop-images", type=int, default=2, help="side-by-side crops for the first N images")
    parser.add_argument("--crop-size", type=int, default=128, help="side of the centre crop in the crop sheets")
    parser.add_argument("--preset", action="append", default=[], metavar="CODEC=PRESET", help="encoder preset override")
    parser.add_argument("--threads", type=int, default=1, help="threads per encoder")
    parser.add_argument("--s3-endpoint", default=None, help="S3 endpoint URL (credentials come from the environment)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=warnings_logged_in("out", run))


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()  # the run time counts model and metric loading too
    from evaluation import (
        EvalConfig,
        EvaluationError,
        build_metrics,
        evaluate,
        resolve_model,
        resolve_post,
        resolve_simulator,
        write_report,
    )
    from evaluation.metrics import DEFAULT_METRICS  # imported here: torch loads only when evaluating

    config = EvalConfig(
        data=args.data,
        codecs=tuple(args.codecs),
        qps=tuple(args.qps),
        qualities=tuple(args.qualities),
        mode=args.mode,
        crfs=tuple(args.crfs),
        size=args.size,
        degradation=args.degradation,
        scale=args.scale,
        seed=args.seed,
        limit=args.limit,
        presets=tuple(tuple(item.split("=", 1)) for item in args.preset),
        threads=args.threads,
        metrics=tuple(args.metrics or DEFAULT_METRICS),
        bd_method=args.bd_method,
        crop_images=args.crop_images,
        crop_size=args.crop_size,
        color_fix=args.color_fix,
        color_fix_at=args.color_fix_at,
    )
    register_checkpoint_loaders()
    labelled = dict(labelled_spec(item) for item in [args.baseline, *args.model])
    baseline = labelled_spec(args.baseline)[0]
    models = {label: resolve_model(spec, config.scale) for label, spec in labelled.items()}
    metrics = build_metrics(config.metrics, args.weights_dir, args.device)  # the summary lists what is unavailable
    try:
        result = evaluate(
            config,
            models,
            metrics,
            simulator=resolve_simulator(args.simulator) if args.simulator else None,
            postprocess=resolve_post(args.post) if args.post else None,
            storage_options=storage_options(args.s3_endpoint),
            progress=not args.no_progress,
            started=started,
        )
    except EvaluationError as error:
        print(f"vrpsr eval: error: {error}", file=sys.stderr)
        return 2
    paths = write_report(result, args.out, baseline)
    print(paths["summary"].read_text(encoding="utf-8"))
    print(f"results in {args.out} ({time.perf_counter() - started:.1f} s, the report included)")
    return 0


def register_checkpoint_loaders() -> None:
    """``checkpoint:FOLDER`` for models, simulators and post-processors: the loaders of trained runs.
    Registered here, not in evaluation/, which never imports training (torch loads only when used)."""
    from evaluation.models import MODEL_FACTORIES, POST_FACTORIES, SIMULATOR_FACTORIES
    from training.inference import load_post_checkpoint, load_simulator_checkpoint, load_sr_checkpoint

    MODEL_FACTORIES["checkpoint"] = lambda argument, scale: load_sr_checkpoint(argument or "", scale)
    SIMULATOR_FACTORIES["checkpoint"] = lambda argument: load_simulator_checkpoint(argument or "")
    SIMULATOR_FACTORIES["jpeg-proxy"] = lambda argument: load_simulator_checkpoint("jpeg-proxy")  # Table 6
    POST_FACTORIES["checkpoint"] = lambda argument: load_post_checkpoint(argument or "")


def labelled_spec(argument: str) -> tuple[str, str]:
    """``LABEL=SPEC`` -> (LABEL, SPEC); a plain SPEC is its own label."""
    label, separator, spec = argument.partition("=")
    if separator and label and ":" not in label and "/" not in label:
        return label, spec
    return argument, argument
