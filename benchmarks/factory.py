"""Factory benchmark: images/s with 1 and 2 Ray workers per codec, share of time inside the encoders,
bytes per sample (bitstreams vs the same pictures stored as decoded PNGs).

    python -m benchmarks.factory --images 24 --qps 20-50/4
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import ray

import codec_bindings.vvenc as vvenc_module
import codec_bindings.x26x as x26x_module
from pipeline.config import FactoryConfig
from pipeline.ray_driver import run_factory
from pipeline.shard_job import make_base_shard, make_codec_shard
from pipeline.sources import list_source
from shards.layout import shard_path
from shards.png import encode_png
from shards.storage import Storage
from shards.tar_format import read_tar
from vrpsr_cli.arguments import int_list

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "imagenet-sample"


class EncoderClock:
    """Accumulates wall time spent inside the encoders' encode_yuv_many (in-process or the ffmpeg child)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._originals = []

    def __enter__(self):
        for cls in (x26x_module.X26xCodec, vvenc_module.VvencCodec):
            original = cls.encode_yuv_many
            self._originals.append((cls, original))

            def timed(codec_self, *args, _original=original, **kwargs):
                started = time.perf_counter()
                try:
                    return _original(codec_self, *args, **kwargs)
                finally:
                    self.seconds += time.perf_counter() - started

            cls.encode_yuv_many = timed
        return self

    def __exit__(self, *exc) -> None:
        for cls, original in self._originals:
            cls.encode_yuv_many = original


def encoder_share(source: str, codec: str, qps: tuple[int, ...], size: int, work: Path) -> tuple[float, float]:
    """(share of the codec task's time inside the encoder, seconds per image) for one shard, no Ray."""
    config = FactoryConfig(
        source=source, out=str(work / f"share-{codec}"), codecs=(codec,), qps=qps, size=size, shard_size=10_000
    )
    items = list_source(source)
    make_base_shard(config, 0, items, "bench")
    with EncoderClock() as clock:
        started = time.perf_counter()
        stats = make_codec_shard(config, 0, codec, "bench")
        total = time.perf_counter() - started
    return clock.seconds / total, total / max(stats["samples"], 1)


def bytes_per_sample(out: str, codec: str) -> tuple[float, float]:
    """Mean bitstream bytes per sample vs the same decoded pictures stored as PNG."""
    from codec_bindings import decode

    storage = Storage(out)
    samples = read_tar(storage.read_bytes(shard_path(codec, 0)), codec)
    bitstream_bytes, png_bytes = [], []
    for _, members in samples:
        streams = [data for suffix, data in members.items() if not suffix.endswith("json")]
        bitstream_bytes.append(sum(len(data) for data in streams))
        png_bytes.append(sum(len(encode_png(decode(data, codec), 3)) for data in streams))
    return statistics.mean(bitstream_bytes), statistics.mean(png_bytes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(SHARED))
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--qps", type=int_list, default=tuple(range(20, 51, 4)))
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--codecs", default="x264,x265,vvenc")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        listing = work / "inputs.txt"
        items = list_source(args.source)[: args.images]
        if any(item.member or item.row >= 0 for item in items):
            raise SystemExit(
                f"{args.source}: give a folder or list of image files (this benchmark writes their paths to a .txt)"
            )
        listing.write_text("".join(f"{item.uri}\n" for item in items))
        print(f"{args.images} images from {args.source}, size {args.size}, QPs {list(args.qps)}")
        for codec in args.codecs.split(","):
            share, seconds = encoder_share(str(listing), codec, args.qps, args.size, work)
            rates = {}
            for workers in (1, 2):
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
                config = FactoryConfig(
                    source=str(listing),
                    out=str(work / f"{codec}-{workers}"),
                    codecs=(codec,),
                    qps=args.qps,
                    size=args.size,
                    shard_size=max(1, args.images // 8),
                )
                started = time.perf_counter()
                summary = run_factory(config, progress=False)
                rates[workers] = summary.images_done / (time.perf_counter() - started)
                ray.shutdown()
            coded, png = bytes_per_sample(str(work / f"{codec}-1"), codec)
            print(
                f"{codec:6} images/s: 1 worker {rates[1]:.2f}, 2 workers {rates[2]:.2f} | "
                f"encoder share of the codec task {100 * share:.1f}% ({seconds:.2f} s/image, no Ray) | "
                f"bytes/sample: bitstreams {coded / 1e3:.0f} kB vs decoded PNGs {png / 1e3:.0f} kB ({png / coded:.1f}x)"
            )


if __name__ == "__main__":
    main()
