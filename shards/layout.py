"""THE CONTRACT: what a vrpsr dataset looks like on disk. Writer (pipeline) and reader (loader,
verify, stats) import every name from here; no member name or path is spelled anywhere else.

    dataset.json                   schema version, config, grid, seeds, codec versions
    base/base-000123.tar           per sample: <key>.clean.png, <key>.lq.png, <key>.meta.json
                                   (+ <key>.lq1.png ... lq{K-1}.png: more degradations, --lq-variants K)
    x264/x264-000123.tar           per sample: <key>.qp32.h264 ... + <key>.meta.json (bpp, psnr, sha256 per picture)
                                   (av1: qp32.obu; quality codecs: jpeg q80.jpg, webp q80.webp)
    manifest/x264-000123.parquet   one row per (sample, codec, picture); manifest/base-*.parquet: one row per sample
    failures/base-000123.parquet   inputs that could not be used: (source, reason)
    failures/tasks.parquet         shard tasks that still failed after their retries: (group, shard, error, attempts)
    _done/x264-000123.json         written last: the shard is complete (stats, sha256, config hash inside)
    _writer.lock / _writer.json    one writer at a time: a local flock file / an S3 lease object (shards.writer_lease)

Tar members follow WebDataset naming: "<key>.<suffix>", the key has no dot. Every group of a shard
index holds the same keys in the same order.
"""

from __future__ import annotations

import re

from codec_bindings import CODEC_NAMES, CODECS

SCHEMA_VERSION = 1
DATASET_FILE = "dataset.json"
BASE_GROUP = "base"
CODEC_GROUPS = CODEC_NAMES  # one column group per codec of codec_bindings.CODECS
BITSTREAM_EXTENSIONS = {name: codec.file_suffix for name, codec in CODECS.items()}
LIBRARY_NAMES = {name: codec.library for name, codec in CODECS.items()}

CLEAN_SUFFIX = "clean.png"
LQ_SUFFIX = "lq.png"
META_SUFFIX = "meta.json"


def lq_suffix(variant: int) -> str:
    """The member of a sample's LQ picture number `variant`: 'lq.png' (the first, the only one unless the
    dataset was made with --lq-variants K), then 'lq1.png' ... 'lq{K-1}.png' (independently seeded)."""
    return LQ_SUFFIX if variant == 0 else f"lq{variant}.png"


def lq_variant_count(suffixes) -> int:
    """How many LQ variants a base sample's members (suffixes) hold: variants 0, 1, ... as lq_suffix names them."""
    count = 0
    while lq_suffix(count) in suffixes:
        count += 1
    return count


def base_suffixes(lq_variants: int) -> set[str]:
    """Every member suffix of a base sample with `lq_variants` LQ pictures."""
    return {CLEAN_SUFFIX, META_SUFFIX, *(lq_suffix(variant) for variant in range(lq_variants))}


# Which picture of the sample a bitstream codes: the clean target X, or the SR input X̃ upsampled to size.
CLEAN_PICTURE, LQ_PICTURE = "clean", "lq"

BASE_MANIFEST_COLUMNS = ("key", "shard", "source", "width", "height", "label", "source_fields")
CODEC_MANIFEST_COLUMNS = (
    "key",
    "shard",
    "codec",
    "picture",
    "mode",  # "qp", "crf" or "quality"
    "qp",  # the value of the rate parameter named by mode: a QP, or (mode "quality") a jpeg/webp quality
    "crf",
    "bpp",
    "psnr",
    "bytes",
    "sha256",
    "member",
)
FAILURE_COLUMNS = ("shard", "source", "reason")
TASK_FAILURE_COLUMNS = ("group", "shard", "error", "attempts")
WRITER_LOCK_FILE = "_writer.lock"  # local roots: held with flock by the run writing the dataset
WRITER_LEASE_FILE = "_writer.json"  # object stores: created with If-None-Match: *, renewed with If-Match
TASK_FAILURES_PATH = "failures/tasks.parquet"  # rewritten by every factory run: the (group, shard) still not done


def sample_key(shard_index: int, position: int) -> str:
    """Key of the input at ``position`` of shard ``shard_index`` (stable: the listing is sorted)."""
    return f"{shard_index:06d}_{position:05d}"


def shard_path(group: str, shard_index: int) -> str:
    return f"{group}/{group}-{shard_index:06d}.tar"


def manifest_path(group: str, shard_index: int) -> str:
    return f"manifest/{group}-{shard_index:06d}.parquet"


def failures_path(shard_index: int) -> str:
    return f"failures/{BASE_GROUP}-{shard_index:06d}.parquet"


DONE_FOLDER = "_done"
_DONE_NAME = re.compile(r"^(?P<group>[A-Za-z0-9_]+)-(?P<index>\d{6})\.json$")


def done_path(group: str, shard_index: int) -> str:
    return f"{DONE_FOLDER}/{group}-{shard_index:06d}.json"


def parse_done_path(path: str) -> tuple[str, int] | None:
    """'_done/x264-000123.json' (or just its file name) -> ('x264', 123); None for anything else."""
    match = _DONE_NAME.match(path.rsplit("/", 1)[-1])
    return (match["group"], int(match["index"])) if match else None


MODE_PREFIXES = {"qp": "qp", "crf": "crf", "quality": "q"}  # mode -> its prefix in a picture name


def picture_name(picture: str, mode: str, value: int) -> str:
    """'qp32', 'crf23', 'lq_qp32', 'q80': the name of one coded picture of a sample within a codec group."""
    prefix = "" if picture == CLEAN_PICTURE else f"{picture}_"
    return f"{prefix}{MODE_PREFIXES[mode]}{value:02d}"


def grid_record(codec: str, grid: tuple[int, ...]) -> dict:
    """A codec group's grid in dataset.json: {"qps": [...]} for QP codecs (as ever); for quality codecs
    {"rate_parameter": "quality", "qualities": [...]}."""
    if CODECS[codec].rate_parameter == "qp":
        return {"qps": list(grid)}
    return {"rate_parameter": "quality", "qualities": list(grid)}


def recorded_grid(group_record: dict) -> list[int]:
    """The grid a codec group's dataset.json record holds (QPs or qualities)."""
    return list(group_record.get("qualities", group_record.get("qps", [])))


def bitstream_suffix(codec: str, name: str) -> str:
    return f"{name}.{BITSTREAM_EXTENSIONS[codec]}"


def member_name(key: str, suffix: str) -> str:
    return f"{key}.{suffix}"


def split_member_name(name: str) -> tuple[str, str]:
    """'000001_00003.qp32.h264' -> ('000001_00003', 'qp32.h264')."""
    key, dot, suffix = name.partition(".")
    if not dot or not key or not suffix:
        raise ValueError(f"tar member {name!r} is not '<key>.<suffix>'")
    return key, suffix
