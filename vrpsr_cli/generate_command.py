"""vrpsr generate SOURCE OUT: the dataset factory."""

from __future__ import annotations

import argparse

from pipeline.config import DEFAULT_CODECS, DEFAULT_QPS, FactoryConfig
from vrpsr_cli.arguments import float_list, int_list, name_list, storage_options


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="degrade, encode across QP grids, write shards (Ray)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "source",
        help="'sample', a folder/ImageNet tree, a .txt of paths, a .tar (of images or of class tars), "
        "WebDataset shards ('train-{0000..1023}.tar', a folder or .txt of them), .parquet files; local or s3://",
    )
    parser.add_argument("out", help="a local folder or s3://bucket/prefix")
    parser.add_argument(
        "--image-column", default=None, help="parquet sources: the image-bytes column (default: detected)"
    )
    parser.add_argument(
        "--label-column", default=None, help="parquet sources: the label column (default: 'label' or 'cls')"
    )
    parser.add_argument(
        "--codecs",
        type=name_list,
        default=DEFAULT_CODECS,
        help="column groups to make, e.g. x264,x265,vvenc (also av1, jpeg, webp)",
    )
    parser.add_argument(
        "--qps", type=int_list, default=DEFAULT_QPS, help="QP grid of x264/x265/vvenc: '20-50/2' or '22,27,32'"
    )
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="CODEC=SPEC",
        help="one codec's grid of its own rate parameter, e.g. jpeg=10-90/10, webp=0-95/5, av1=21-63/2 "
        "(default: the codec's own grid; x264/x265/vvenc: --qps)",
    )
    parser.add_argument("--crfs", type=float_list, default=(), help="CRF points too (x264/x265), e.g. 23,28")
    parser.add_argument(
        "--lq-grid", action="store_true", help="also code the SR input upsampled to --size (target rates)"
    )
    parser.add_argument("--size", type=int, default=512, help="crop size of the clean target")
    parser.add_argument(
        "--lq-variants",
        type=int,
        default=1,
        help="independently seeded degradations per picture (loader: one per epoch)",
    )
    parser.add_argument("--crop", choices=("center", "random"), default="center")
    parser.add_argument("--degradation", default="s3diff", help="degradation preset: s3diff or realesrgan")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard-size", type=int, default=64, help="samples per shard")
    parser.add_argument("--preset", action="append", default=[], metavar="CODEC=PRESET", help="encoder preset override")
    parser.add_argument("--threads", type=int, default=1, help="threads per encoder (1 = deterministic)")
    parser.add_argument(
        "--max-input-mb",
        type=float,
        default=256,
        help="a larger input file or tar member is a failure row (never read whole)",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="Ray address to join ('auto': the cluster running here); none = always a fresh local Ray",
    )
    parser.add_argument("--workers", type=int, default=None, help="CPUs for a local Ray (default: all cores)")
    parser.add_argument(
        "--max-in-flight", type=int, default=None, help="tasks submitted at once (default: 4 per cluster CPU, >= 64)"
    )
    parser.add_argument("--s3-endpoint", default=None, help="S3 endpoint URL (credentials come from the environment)")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from pipeline.ray_driver import run_factory  # Ray is imported only when needed
    from shards.qp_pairs import grid_warning

    presets = tuple(tuple(item.split("=", 1)) for item in args.preset)
    grids = tuple(grid_override(item) for item in args.grid)
    config = FactoryConfig(
        source=args.source,
        out=args.out,
        codecs=args.codecs,
        qps=args.qps,
        crfs=args.crfs,
        grids=grids,
        lq_grid=args.lq_grid,
        size=args.size,
        crop=args.crop,
        degradation=args.degradation,
        scale=args.scale,
        seed=args.seed,
        shard_size=args.shard_size,
        presets=presets,
        threads=args.threads,
        image_column=args.image_column,
        label_column=args.label_column,
        lq_variants=args.lq_variants,
        max_input_bytes=int(args.max_input_mb * 2**20),
    )  # checks every argument: a bad one ends here in one line, before any warning
    if args.qps and (warning := grid_warning(args.qps)):
        print(f"vrpsr generate: warning: {warning}", file=sys.stderr)
    summary = run_factory(
        config,
        storage_options(args.s3_endpoint),
        address=args.address,
        num_cpus=args.workers,
        progress=not args.no_progress,
        max_in_flight=args.max_in_flight,
    )
    print(summary.render())
    return 1 if summary.failed_tasks else 0  # failed tasks are rows of failures/tasks.parquet; a rerun resumes them


def grid_override(text: str) -> tuple[str, tuple[int, ...]]:
    """'jpeg=10-90/10' -> ('jpeg', (10, 20, ..., 90)); ValueError naming the argument otherwise."""
    codec, _, spec = text.partition("=")
    try:
        values = int_list(spec) if codec and spec else ()
    except argparse.ArgumentTypeError:
        values = ()
    if not values:
        raise ValueError(f"--grid {text!r}: expected CODEC=LIST such as jpeg=10-90/10 or av1=23,33,43")
    return codec.strip(), values
