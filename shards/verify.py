"""vrpsr shards verify: check a dataset against its own records, shard by shard.

For every shard of every group: the _done marker exists and matches the tar (bytes, sha256, sample
count); the manifest lists exactly the tar's samples and pictures; base PNGs decode at the recorded
size; every bitstream decodes (sha256 checked first), its bits and bpp are what meta.json and the
manifest say, and a clean picture's PSNR is the recorded one. A random sample of clean pictures is
re-encoded with the recorded encoder, preset, threads and colour conversion and must be bit-exact.
Every failure is a Problem naming the shard, key and member; nothing stops at the first one. Shard
tasks the factory recorded as failed (failures/tasks.parquet) are problems too. Imports no torch.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from codec_bindings import CodecError, decode, encode, psnr
from shards.codec_meta import CodecMeta, CodedPicture, parse_codec_meta
from shards.dataset_info import require_dataset_info
from shards.errors import ShardError
from shards.layout import (
    BASE_GROUP,
    CLEAN_PICTURE,
    CLEAN_SUFFIX,
    CODEC_GROUPS,
    LQ_SUFFIX,
    META_SUFFIX,
    base_suffixes,
    bitstream_suffix,
    lq_variant_count,
    manifest_path,
    shard_path,
)
from shards.manifest import read_group, read_table
from shards.markers import read_marker
from shards.png import decode_png
from shards.storage import Storage
from shards.tar_format import Sample, read_tar
from shards.task_failures import read_task_failures

PSNR_TOLERANCE_DB = 1e-4  # the factory records PSNR rounded to 6 decimals
MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class Problem:
    where: str
    what: str


@dataclass
class VerifyReport:
    root: str
    shards: int = 0
    samples: int = 0
    pictures_decoded: int = 0
    pictures_reencoded: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, other: VerifyReport) -> None:
        self.shards += other.shards
        self.samples += other.samples
        self.pictures_decoded += other.pictures_decoded
        self.pictures_reencoded += other.pictures_reencoded
        self.problems.extend(other.problems)

    def render(self) -> str:
        lines = [
            f"{self.root}: {self.shards} shard files, {self.samples} samples, {self.pictures_decoded} pictures decoded, "
            f"{self.pictures_reencoded} re-encoded"
        ]
        lines += [f"PROBLEM {problem.where}: {problem.what}" for problem in self.problems[:MAX_PROBLEMS_SHOWN]]
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            lines.append(f"... and {len(self.problems) - MAX_PROBLEMS_SHOWN} more problems")
        lines.append("OK: every check passed" if self.ok else f"FAILED: {len(self.problems)} problems")
        return "\n".join(lines)


def verify_dataset(
    root: str,
    storage_options: dict | None = None,
    groups: Iterable[str] | None = None,
    reencode: int = 20,
    seed: int = 0,
    workers: int = 1,
) -> VerifyReport:
    """Verify every shard of ``groups`` (default: all codec groups of dataset.json) and re-encode ``reencode`` pictures."""
    storage = Storage(root, storage_options)
    info = require_dataset_info(storage)
    codecs = [group for group in CODEC_GROUPS if group in info["groups"] and (groups is None or group in set(groups))]
    targets = _reencode_targets(storage, codecs, reencode, seed)
    tasks = [
        (root, storage_options, index, codecs, info["size"], info["scale"], targets.get(index, set()))
        for index in range(info["num_shards"])
    ]
    report = VerifyReport(root)
    for row in read_task_failures(storage):
        report.problems.append(
            Problem(
                storage.url(shard_path(row["group"], row["shard"])),
                f"the factory's task failed after {row['attempts']} attempts: {row['error']}",
            )
        )
    if workers <= 1:
        results = [verify_shard(*task) for task in tasks]
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(verify_shard, *zip(*tasks)))
    for result in results:
        report.add(result)
    return report


def verify_shard(
    root: str,
    storage_options: dict | None,
    index: int,
    codecs: list[str],
    size: int,
    scale: int,
    reencode: set[tuple[str, str, str]],
) -> VerifyReport:
    """All checks of one shard index, every group; ``reencode`` holds (codec, key, member) to re-encode."""
    storage = Storage(root, storage_options)
    report = VerifyReport(root)
    tables: dict[str, list[Sample]] = {}
    for group in (BASE_GROUP, *codecs):
        samples = _read_checked(storage, group, index, report)
        if samples is not None:
            tables[group] = samples
    if BASE_GROUP not in tables:
        return report
    report.samples += len(tables[BASE_GROUP])
    cleans = _check_base(storage, index, tables[BASE_GROUP], size, scale, report)
    for codec in codecs:
        if codec not in tables:
            continue
        shard = storage.url(shard_path(codec, index))
        if [key for key, _ in tables[codec]] != [key for key, _ in tables[BASE_GROUP]]:
            report.problems.append(Problem(shard, "does not hold the keys of the base shard in the same order"))
            continue
        rows = _manifest_rows(storage, codec, index, report)
        for key, members in tables[codec]:
            _check_codec_sample(shard, codec, key, members, cleans.get(key), rows, reencode, report)
        for key, member in sorted(rows):
            report.problems.append(Problem(f"{shard}: {key}", f"manifest row for {member} has no member in the tar"))
    return report


def _read_checked(storage: Storage, group: str, index: int, report: VerifyReport) -> list[Sample] | None:
    """The shard's samples, after checking them against the _done marker; None when unusable."""
    shard = storage.url(shard_path(group, index))
    try:
        marker = read_marker(storage, group, index)
    except ShardError as error:
        report.problems.append(Problem(shard, f"no readable _done marker (shard incomplete): {error}"))
        return None
    try:
        data = storage.read_bytes(shard_path(group, index))
        samples = read_tar(data, shard)
    except ShardError as error:
        report.problems.append(Problem(shard, str(error)))
        return None
    report.shards += 1
    digest = hashlib.sha256(data).hexdigest()
    if (len(data), digest, len(samples)) != (marker.bytes, marker.sha256, marker.samples):
        report.problems.append(
            Problem(
                shard,
                f"tar has {len(data)} bytes, sha256 {digest[:12]}…, {len(samples)} samples; the marker "
                f"records {marker.bytes}, {marker.sha256[:12]}…, {marker.samples}",
            )
        )
    return samples


def _check_base(
    storage: Storage, index: int, samples: list[Sample], size: int, scale: int, report: VerifyReport
) -> dict[str, np.ndarray]:
    shard = storage.url(shard_path(BASE_GROUP, index))
    try:
        manifest = read_table(storage, manifest_path(BASE_GROUP, index)).to_pylist()
    except ShardError as error:
        report.problems.append(Problem(shard, str(error)))
        manifest = []
    manifest_keys, tar_keys = [row["key"] for row in manifest], [key for key, _ in samples]
    multiset_problems = _multiset_problems(shard, manifest_keys, tar_keys, "base manifest row")
    report.problems.extend(multiset_problems)
    if not multiset_problems and manifest_keys != tar_keys:
        report.problems.append(Problem(shard, "the base manifest does not list the tar's keys in the tar's order"))
    cleans = {}
    for key, members in samples:
        if set(members) != base_suffixes(max(1, lq_variant_count(members))):
            report.problems.append(Problem(f"{shard}: {key}", f"members {sorted(members)}"))
            continue
        try:
            clean, lq = decode_png(members[CLEAN_SUFFIX], CLEAN_SUFFIX), decode_png(members[LQ_SUFFIX], LQ_SUFFIX)
            json.loads(members[META_SUFFIX])
        except (ShardError, ValueError) as error:
            report.problems.append(Problem(f"{shard}: {key}", str(error)))
            continue
        if clean.shape[:2] != (size, size) or lq.shape[:2] != (size // scale, size // scale):
            report.problems.append(
                Problem(
                    f"{shard}: {key}",
                    f"clean {clean.shape[:2]} / lq {lq.shape[:2]}, expected {size}² / {size // scale}²",
                )
            )
        cleans[key] = clean
    return cleans


def _manifest_rows(storage: Storage, codec: str, index: int, report: VerifyReport) -> dict[tuple[str, str], dict]:
    try:
        table = read_table(storage, manifest_path(codec, index))
    except ShardError as error:
        report.problems.append(Problem(storage.url(shard_path(codec, index)), str(error)))
        return {}
    rows: dict[tuple[str, str], dict] = {}
    counts = Counter((row["key"], row["member"]) for row in table.to_pylist())
    for (key, member), count in sorted(counts.items()):
        if count > 1:
            where = f"{storage.url(shard_path(codec, index))}: {key}"
            report.problems.append(Problem(where, f"manifest row for {member} appears {count} times"))
    for row in table.to_pylist():
        rows.setdefault((row["key"], row["member"]), row)
    return rows


def _multiset_problems(shard: str, manifest_keys: list[str], tar_keys: list[str], what: str) -> list[Problem]:
    """The manifest compared with the tar as multisets: each duplicated, missing or extra row named."""
    listed, held = Counter(manifest_keys), Counter(tar_keys)
    problems = [
        Problem(f"{shard}: {key}", f"{what} appears {count} times") for key, count in listed.items() if count > 1
    ]
    problems += [Problem(f"{shard}: {key}", f"{what} missing (the tar holds the sample)") for key in held - listed]
    problems += [Problem(f"{shard}: {key}", f"{what} has no sample in the tar") for key in set(listed) - set(held)]
    return problems


def _check_codec_sample(
    shard: str,
    codec: str,
    key: str,
    members: dict[str, bytes],
    clean: np.ndarray | None,
    rows: dict[tuple[str, str], dict],
    reencode: set,
    report: VerifyReport,
) -> None:
    where = f"{shard}: {key}"
    try:
        meta = parse_codec_meta(members[META_SUFFIX], where)
    except (KeyError, ShardError) as error:
        report.problems.append(Problem(where, f"no usable {META_SUFFIX}: {error}"))
        return
    expected = {bitstream_suffix(codec, name): picture for name, picture in meta.pictures.items()}
    for suffix in sorted(set(members) - set(expected) - {META_SUFFIX}):
        report.problems.append(Problem(where, f"member {suffix} is not described in meta.json"))
    for suffix, picture in sorted(expected.items()):
        data = members.get(suffix)
        if data is None:
            report.problems.append(Problem(where, f"meta.json describes {suffix}, the tar lacks it"))
            continue
        for what in _picture_problems(meta, picture, data, rows.pop((key, suffix), None)):
            report.problems.append(Problem(f"{where} {suffix}", what))
        try:
            decoded = decode(
                data,
                codec,
                size=(meta.height, meta.width),
                expected_sha256=picture.sha256,
                matrix=meta.matrix,
                value_range=meta.value_range,
            )
        except CodecError as error:
            report.problems.append(Problem(f"{where} {suffix}", f"does not decode: {error}"))
            continue
        report.pictures_decoded += 1
        if picture.picture != CLEAN_PICTURE or clean is None:
            continue
        measured = psnr(clean, decoded)
        if not math.isclose(measured, picture.psnr, abs_tol=PSNR_TOLERANCE_DB):
            report.problems.append(Problem(f"{where} {suffix}", f"PSNR {measured:.6f} dB, recorded {picture.psnr:.6f}"))
        if (codec, key, suffix) in reencode:
            report.pictures_reencoded += 1
            again = encode(
                clean,
                codec,
                qp=picture.qp if picture.crf is None else None,
                crf=picture.crf,
                quality=picture.quality,
                preset=meta.preset,
                threads=meta.threads,
                matrix=meta.matrix,
                value_range=meta.value_range,
            )
            if again.params["sha256"] != picture.sha256:
                report.problems.append(
                    Problem(
                        f"{where} {suffix}",
                        f"re-encode is not bit-exact ({len(again.bitstream)} bytes vs "
                        f"{len(data)}; {meta.preset}, threads {meta.threads})",
                    )
                )


def _picture_problems(meta: CodecMeta, picture: CodedPicture, data: bytes, row: dict | None) -> list[str]:
    problems = []
    digest, bits = hashlib.sha256(data).hexdigest(), 8 * len(data)
    if digest != picture.sha256:
        problems.append(f"sha256 {digest[:12]}… differs from meta.json's {picture.sha256[:12]}…")
    if bits != picture.bits or not math.isclose(picture.bpp, bits / (meta.width * meta.height), rel_tol=1e-9):
        problems.append(
            f"{bits} bits = {bits / (meta.width * meta.height):.6f} bpp, meta.json says {picture.bits} bits, {picture.bpp:.6f} bpp"
        )
    if row is None:
        problems.append("no manifest row")
        return problems
    recorded = (row["bytes"], row["sha256"], row["qp"], row["crf"], row["picture"])
    rate_value = picture.qp if picture.quality is None else picture.quality  # the manifest's qp column: see layout
    if recorded != (len(data), picture.sha256, rate_value, picture.crf, picture.picture) or not (
        math.isclose(row["bpp"], picture.bpp, rel_tol=1e-9)
        and math.isclose(row["psnr"], picture.psnr, abs_tol=PSNR_TOLERANCE_DB)
    ):
        problems.append(f"manifest row {row} disagrees with the member / meta.json")
    return problems


def _reencode_targets(
    storage: Storage, codecs: list[str], count: int, seed: int
) -> dict[int, set[tuple[str, str, str]]]:
    """``count`` clean pictures drawn at random (seeded) from the manifests: shard -> {(codec, key, member)}."""
    rows = [
        row for codec in codecs for row in read_group(storage, codec).to_pylist() if row["picture"] == CLEAN_PICTURE
    ]
    rows.sort(key=lambda row: (row["codec"], row["key"], row["member"]))
    chosen = np.random.default_rng(seed).permutation(len(rows))[: max(0, count)]
    targets: dict[int, set] = {}
    for position in chosen:
        row = rows[int(position)]
        targets.setdefault(int(row["shard"]), set()).add((row["codec"], row["key"], row["member"]))
    return targets
