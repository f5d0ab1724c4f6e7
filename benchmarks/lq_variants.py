"""What --lq-variants K costs: base-shard seconds and bytes per picture at K = 1 and K, and the loader's cost of
choosing a variant (per sample and epoch: counting the sample's variants + the seeded permutation).

    python -m benchmarks.lq_variants --images 24 --variants 4 [--source FOLDER]

Only the base group changes with K (the clean picture and every codec group are shared), so the codec
groups are not made here.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pipeline.config import FactoryConfig
from pipeline.run_plan import prepare_run
from pipeline.shard_job import make_base_shard
from shards.layout import BASE_GROUP, base_suffixes, lq_variant_count, shard_path
from shards.loader.plan import lq_variant

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "imagenet-sample"


def base_cost(source: Path, count: int, variants: int, size: int, work: Path) -> tuple[float, float]:
    """(seconds per picture, bytes per picture) of the base group made with `variants` LQ pictures each."""
    listing = work / f"inputs-{variants}.txt"
    listing.write_text("".join(f"{path}\n" for path in sorted(source.glob("*.JPEG"))[:count]))
    out = work / f"dataset-{variants}"
    config = FactoryConfig(
        source=str(listing), out=str(out), codecs=(), qps=(30,), size=size, shard_size=count, lq_variants=variants
    )
    plan = prepare_run(config)
    started = time.perf_counter()
    for index, items in enumerate(plan.shards):
        make_base_shard(config, index, items, plan.hashes[BASE_GROUP])
    seconds = time.perf_counter() - started
    tar_bytes = sum((out / shard_path(BASE_GROUP, index)).stat().st_size for index in range(len(plan.shards)))
    return seconds / count, tar_bytes / count


def choice_cost(variants: int, calls: int) -> float:
    """Seconds per choice: count a sample's variants from its member names, then pick this epoch's."""
    members = dict.fromkeys(base_suffixes(variants), b"")
    started = time.perf_counter()
    for call in range(calls):
        lq_variant(lq_variant_count(members), 0, f"{call // 8:06d}_{call % 8:05d}", call % 16)
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=SHARED, help="a folder of .JPEG pictures")
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--calls", type=int, default=20000, help="loader choices timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        one = base_cost(args.source, args.images, 1, args.size, Path(folder))
        many = base_cost(args.source, args.images, args.variants, args.size, Path(folder))
    print(f"base group, {args.images} pictures at {args.size}²:")
    print(f"  K=1: {one[0]:.3f} s/picture, {one[1] / 1e3:.1f} kB/picture")
    print(f"  K={args.variants}: {many[0]:.3f} s/picture, {many[1] / 1e3:.1f} kB/picture")
    added_seconds, added_bytes = many[0] - one[0], many[1] - one[1]
    print(
        f"  added by K={args.variants}: {added_seconds:.3f} s/picture ({added_seconds / (args.variants - 1):.3f} s "
        f"per extra variant), {added_bytes / 1e3:.1f} kB/picture ({100 * added_bytes / one[1]:.0f} % of the base group)"
    )
    for variants in (1, args.variants):
        print(f"loader's choice at K={variants}: {1e6 * choice_cost(variants, args.calls):.1f} µs per sample and epoch")


if __name__ == "__main__":
    main()
