"""vrpsr eval simulator: how well simulators reproduce the real codecs (Tables 3 and 4), with baselines."""

from __future__ import annotations

import argparse
import sys

from vrpsr_cli.arguments import float_list, int_list, name_list, storage_options
from vrpsr_cli.warnings_log import warnings_logged_in

BASELINES = {"identity": "identity", "jpeg-proxy": "jpeg-proxy"}
DEFAULT_METRICS = "psnr_rgb,ssim_rgb,lpips_alex,dists,fid"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval-simulator",
        prog="vrpsr eval simulator",  # how users spell it (main.spelled_as_subcommands); usage and errors say so
        help="`vrpsr eval simulator`: simulator output vs real codec output (Tables 3 and 4)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Simulators: a stage-1 checkpoint folder (vrpsr train simulator; any backbone or Table 3 "
        "switch, or an imported checkpoint), checkpoint:FOLDER, jpeg-proxy, identity, py:module:attribute; "
        "LABEL=SPEC names one. The identity and JPEG-proxy baselines are added unless --no-baselines.",
    )
    parser.add_argument("--simulator", action="append", required=True, help="simulator to measure (repeatable)")
    parser.add_argument(
        "--data", required=True, help="a vrpsr dataset root (its clean pictures) or an image folder/.txt/.tar"
    )
    parser.add_argument("--out", required=True, help="results folder (created)")
    parser.add_argument("--codecs", type=name_list, default="x264,x265,vvenc")
    parser.add_argument("--qps", type=int_list, default="27,32,37,42,47", help="the rate grid, as slice QPs")
    parser.add_argument("--size", type=int, default=256, help="centre crop of each picture")
    parser.add_argument("--limit", type=int, default=8, help="pictures to use (dataset: from its last shard)")
    parser.add_argument("--bpp-edges", type=float_list, default="0.1,0.2,0.4,0.8", help="bpp bucket boundaries")
    parser.add_argument(
        "--metrics",
        type=name_list,
        default=DEFAULT_METRICS,
        help="psnr_y,psnr_rgb,ssim_y,ssim_rgb,lpips_alex,lpips_vgg,dists,fid",
    )
    parser.add_argument("--weights-dir", default=None, help="folder of pretrained metric weights")
    parser.add_argument("--device", default="cpu", help="torch device for the metric networks")
    parser.add_argument("--no-baselines", action="store_true", help="do not add identity and jpeg-proxy")
    parser.add_argument("--crop-images", type=int, default=2, help="crop sheets for the first N pictures")
    parser.add_argument("--crop-size", type=int, default=96)
    parser.add_argument("--s3-endpoint", default=None)
    parser.set_defaults(run=warnings_logged_in("out", run))


def simulator_spec(spec: str) -> str:
    """A bare checkpoint folder means checkpoint:FOLDER; names and NAME:ARG stay as they are."""
    from evaluation.models import SIMULATOR_FACTORIES

    return spec if spec.partition(":")[0] in SIMULATOR_FACTORIES else f"checkpoint:{spec}"


def register_simulators() -> None:
    """checkpoint:FOLDER, jpeg-proxy (registered by vrpsr eval) and identity as simulator plug-ins."""
    from evaluation.models import SIMULATOR_FACTORIES, Identity
    from vrpsr_cli.eval_command import register_checkpoint_loaders

    register_checkpoint_loaders()
    SIMULATOR_FACTORIES["identity"] = lambda argument: Identity()


def run(args: argparse.Namespace) -> int:
    from evaluation.metrics import build_metrics
    from evaluation.models import resolve_simulator
    from evaluation.simulator_fidelity import FidelityConfig, simulator_fidelity
    from evaluation.simulator_report import write_fidelity_report
    from vrpsr_cli.eval_command import labelled_spec

    register_simulators()
    given = [labelled_spec(item) for item in args.simulator]
    baselines = [] if args.no_baselines else [item for item in BASELINES.items() if item[0] not in dict(given)]
    simulators = {label: resolve_simulator(simulator_spec(spec)) for label, spec in [*given, *baselines]}
    config = FidelityConfig(
        data=args.data,
        codecs=tuple(args.codecs),
        qps=tuple(args.qps),
        size=args.size,
        limit=args.limit,
        bpp_edges=tuple(args.bpp_edges),
        crop_images=args.crop_images,
        crop_size=args.crop_size,
    )
    metrics = build_metrics(args.metrics, args.weights_dir, args.device)
    for metric, reason in metrics.unavailable.items():
        print(f"vrpsr eval simulator: {metric} unavailable: {reason}", file=sys.stderr)
    result = simulator_fidelity(config, simulators, metrics, storage_options(args.s3_endpoint))
    paths = write_fidelity_report(result, args.out)
    print(paths["report"].read_text(encoding="utf-8"))
    print(f"results in {args.out} ({result.seconds:.0f} s)")
    return 0
