"""vrpsr shards stats: per codec / picture / QP (or CRF) counts, bpp and PSNR distributions, an RD plot.

Everything comes from the parquet manifests (no tar is read), so it is cheap on any dataset size; shard
tasks the factory recorded as failed (failures/tasks.parquet) are listed too.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from shards.dataset_info import require_dataset_info
from shards.layout import BASE_GROUP, CLEAN_PICTURE, CODEC_GROUPS
from shards.manifest import read_group
from shards.storage import Storage
from shards.task_failures import read_task_failures

PERCENTILES = (5, 50, 95)


@dataclass(frozen=True)
class PointStats:
    """All pictures of one codec at one rate point (e.g. x264, clean, qp 32)."""

    codec: str
    picture: str
    mode: str
    value: float
    count: int
    bpp_mean: float
    bpp_percentiles: tuple[float, ...]
    psnr_mean: float
    psnr_percentiles: tuple[float, ...]


@dataclass
class DatasetStats:
    root: str
    samples: int
    failures: int
    failure_reasons: list[tuple[str, int]] = field(default_factory=list)
    points: list[PointStats] = field(default_factory=list)
    failed_tasks: list[dict] = field(default_factory=list)  # rows of failures/tasks.parquet

    def as_dict(self) -> dict:
        return asdict(self)


def dataset_stats(root: str, storage_options: dict | None = None) -> DatasetStats:
    storage = Storage(root, storage_options)
    info = require_dataset_info(storage)
    failures = read_group(storage, BASE_GROUP, folder="failures").column("reason").to_pylist()
    reasons = Counter(reason.split(":", 1)[0] for reason in failures).most_common(5)
    stats = DatasetStats(
        root, read_group(storage, BASE_GROUP).num_rows, len(failures), reasons, failed_tasks=read_task_failures(storage)
    )
    for codec in (group for group in CODEC_GROUPS if group in info["groups"]):
        rows = read_group(storage, codec).to_pylist()
        points: dict[tuple, list[dict]] = {}
        for row in rows:
            value = row["qp"] if row["crf"] is None else row["crf"]
            points.setdefault((row["picture"], row["mode"], float(value)), []).append(row)
        for (picture, mode, value), members in sorted(points.items()):
            bpp, psnr = np.array([r["bpp"] for r in members]), np.array([r["psnr"] for r in members])
            finite = psnr[np.isfinite(psnr)] if np.isfinite(psnr).any() else psnr
            stats.points.append(
                PointStats(
                    codec,
                    picture,
                    mode,
                    value,
                    len(members),
                    float(bpp.mean()),
                    tuple(float(v) for v in np.percentile(bpp, PERCENTILES)),
                    float(finite.mean()),
                    tuple(float(v) for v in np.percentile(finite, PERCENTILES)),
                )
            )
    return stats


def render_stats(stats: DatasetStats) -> str:
    lines = [f"{stats.root}: {stats.samples} samples, {stats.failures} failed inputs"]
    lines += [f"  failure: {reason} x{count}" for reason, count in stats.failure_reasons]
    if stats.failed_tasks:
        lines.append(f"FAILED shard tasks (after retries; rerun vrpsr generate to resume): {len(stats.failed_tasks)}")
        lines += [
            f"  {row['group']}-{row['shard']:06d} after {row['attempts']} attempts: {row['error'][:300]}"
            for row in stats.failed_tasks[:20]
        ]
    p = "/".join(f"p{q}" for q in PERCENTILES)
    lines.append(
        f"{'codec':6} {'picture':7} {'point':>8} {'count':>6} {'bpp mean':>9} {'bpp ' + p:>24} {'PSNR mean':>9} {'PSNR ' + p:>24}"
    )
    for point in stats.points:
        label = f"{point.mode}{point.value:g}"
        lines.append(
            f"{point.codec:6} {point.picture:7} {label:>8} {point.count:6d} {point.bpp_mean:9.4f} "
            f"{'/'.join(f'{v:.3f}' for v in point.bpp_percentiles):>24} {point.psnr_mean:9.3f} "
            f"{'/'.join(f'{v:.2f}' for v in point.psnr_percentiles):>24}"
        )
    return "\n".join(lines)


def rd_plot_png(stats: DatasetStats) -> bytes:
    """Mean PSNR vs mean bpp per codec (clean pictures; one curve per codec and mode), as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6.4, 4.8), dpi=100)
    curves: dict[tuple[str, str], list[PointStats]] = {}
    for point in stats.points:
        if point.picture == CLEAN_PICTURE:
            curves.setdefault((point.codec, point.mode), []).append(point)
    for (codec, mode), points in sorted(curves.items()):
        points.sort(key=lambda point: point.bpp_mean)
        axes.plot(
            [p.bpp_mean for p in points],
            [p.psnr_mean for p in points],
            marker="o" if mode == "qp" else "s",
            label=f"{codec} ({mode})",
        )
    axes.set_xlabel("bits per pixel (mean)")
    axes.set_ylabel("PSNR of the clean target, dB (mean)")
    axes.set_title(f"RD: {stats.samples} samples")
    axes.grid(True, alpha=0.3)
    if curves:
        axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    pyplot.close(figure)
    return buffer.getvalue()
