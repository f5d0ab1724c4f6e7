"""vrpsr shards verify|stats|show ROOT: check a dataset against its records; summarise its rates and qualities;
show its pictures on one HTML page."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vrpsr_cli.arguments import int_list, name_list, storage_options


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("shards", help="inspect a dataset: verify, stats, show")
    commands = parser.add_subparsers(dest="shards_command", required=True)

    verify = commands.add_parser(
        "verify",
        help="decode every bitstream, check hashes, rates and manifests, re-encode a sample",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    verify.add_argument("root", help="a dataset folder or s3://bucket/prefix")
    verify.add_argument("--groups", type=name_list, default=None, help="codec groups to check (default: all)")
    verify.add_argument(
        "--reencode", type=int, default=20, help="clean pictures to re-encode (chosen at random) for bit-exactness"
    )
    verify.add_argument("--seed", type=int, default=0, help="seed of the re-encode sample")
    verify.add_argument("--workers", type=int, default=1, help="processes (one shard index per task)")
    verify.add_argument("--s3-endpoint", default=None, help="S3 endpoint URL (credentials come from the environment)")
    verify.set_defaults(run=run_verify)

    stats = commands.add_parser(
        "stats",
        help="per codec/QP counts, bpp and PSNR distributions, RD plot",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    stats.add_argument("root", help="a dataset folder or s3://bucket/prefix")
    stats.add_argument("--plot", type=Path, default=Path("rd.png"), help="where to write the RD plot (PNG)")
    stats.add_argument("--no-plot", action="store_true")
    stats.add_argument("--json", type=Path, default=None, help="also write the statistics as JSON here")
    stats.add_argument("--s3-endpoint", default=None, help="S3 endpoint URL (credentials come from the environment)")
    stats.set_defaults(run=run_stats)

    show = commands.add_parser(
        "show",
        help="one self-contained HTML page: clean, SR input and every decoded picture with bpp and PSNR, RD plot",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    show.add_argument("root", help="a dataset folder or s3://bucket/prefix")
    show.add_argument("--out", type=Path, required=True, help="the HTML page to write (pictures are inside it)")
    show.add_argument("--keys", type=name_list, default=None, help="samples to show, e.g. 000000_00001,000002_00000")
    show.add_argument("--limit", type=int, default=4, help="at most this many samples")
    show.add_argument("--codecs", type=name_list, default=None, help="codec groups to show (default: all)")
    show.add_argument("--qps", type=int_list, default=None, help="QPs to show, e.g. 24,34,44 (default: the grid)")
    show.add_argument("--zoom", type=int, default=4, help="zoomed crops show 1/ZOOM of the side")
    show.add_argument(
        "--full-size", action="store_true", help="store whole pictures at full size, not 256 px wide (larger page)"
    )
    show.add_argument("--s3-endpoint", default=None, help="S3 endpoint URL (credentials come from the environment)")
    show.set_defaults(run=run_show)


def run_verify(args: argparse.Namespace) -> int:
    from shards.verify import verify_dataset

    report = verify_dataset(
        args.root,
        storage_options(args.s3_endpoint),
        groups=args.groups,
        reencode=args.reencode,
        seed=args.seed,
        workers=args.workers,
    )
    print(report.render())
    return 0 if report.ok else 1


def run_stats(args: argparse.Namespace) -> int:
    from shards.stats import dataset_stats, rd_plot_png, render_stats

    stats = dataset_stats(args.root, storage_options(args.s3_endpoint))
    print(render_stats(stats))
    if args.json is not None:
        args.json.write_text(json.dumps(stats.as_dict(), indent=2) + "\n")
    if not args.no_plot:
        args.plot.write_bytes(rd_plot_png(stats))
        print(f"RD plot: {args.plot}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from shards.gallery import GalleryRequest, build_gallery

    request = GalleryRequest(args.root, args.keys, args.limit, args.codecs, args.qps, args.zoom, args.full_size)
    gallery = build_gallery(request, storage_options(args.s3_endpoint))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(gallery.html, encoding="utf-8")
    size_mib = len(gallery.html.encode()) / 2**20
    print(
        f"{args.out}: {gallery.samples} sample(s), {gallery.pictures} pictures, {size_mib:.1f} MiB; open it in a browser"
    )
    return 0
