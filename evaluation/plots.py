"""Figures: RD curves (one PNG per codec and metric) and side-by-side crops (one PNG per image, codec, setting)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from evaluation.metrics import METRICS  # noqa: E402
from evaluation.protocol import CropSet  # noqa: E402

CROP_COLUMNS = {"sr": "SR output", "codec": "real codec X̂", "simulator": "simulator X̂'"}


MARKERS = "osD^vP*X"
LINESTYLES = ("-", "--", ":", "-.")


def rd_curve(
    path: Path,
    summary: Sequence[dict],
    codec: str,
    metric: str,
    models: Sequence[str],
    bd: Sequence[dict],
    setting_name: str,
) -> Path:
    """Mean metric vs mean bpp, one line per model (BDBR in the legend); settings labelled on the first model."""
    figure, axes = plt.subplots(figsize=(6.0, 4.2), dpi=120)
    for number, model in enumerate(models):
        points = sorted(
            (s for s in summary if s["model"] == model and s["codec"] == codec), key=lambda s: s["bpp_mean"]
        )
        if not points:
            continue
        bdbr = next(
            (b["bd_rate_pct"] for b in bd if b["model"] == model and b["codec"] == codec and b["metric"] == metric),
            None,
        )
        label = model if bdbr is None else f"{model} (BDBR {'n/a' if math.isnan(bdbr) else f'{bdbr:+.2f} %'})"
        axes.plot(
            [s["bpp_mean"] for s in points],
            [s[f"{metric}_mean"] for s in points],
            label=label,
            marker=MARKERS[number % len(MARKERS)],
            linestyle=LINESTYLES[number % len(LINESTYLES)],
            markerfacecolor="none",
        )
        for s in points if number == 0 else ():
            axes.annotate(
                f"{setting_name} {s['setting']:g}",
                (s["bpp_mean"], s[f"{metric}_mean"]),
                fontsize=7,
                textcoords="offset points",
                xytext=(4, -10),
            )
    info = METRICS[metric]
    axes.set(
        xlabel="bpp (output bitstream, mean over images)",
        ylabel=f"{info.label}, mean ({'higher' if info.higher_is_better else 'lower'} is better)",
        title=f"{codec}: {info.label}",
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def crop_sheet(path: Path, crop: CropSet, setting_name: str) -> Path:
    """Rows: models; columns: target X, SR output, real-codec output (and simulator output when given)."""
    models = list(crop.pictures)
    kinds = [k for k in CROP_COLUMNS if any(k in pictures for pictures in crop.pictures.values())]
    columns = 1 + len(kinds)
    figure, axes = plt.subplots(
        len(models), columns, figsize=(2.4 * columns, 2.5 * len(models)), dpi=100, squeeze=False
    )
    for row, model in enumerate(models):
        panels = [("target X", crop.clean)] + [(CROP_COLUMNS[k], crop.pictures[model].get(k)) for k in kinds]
        for column, (title, picture) in enumerate(panels):
            axis = axes[row][column]
            axis.axis("off")
            if picture is not None:
                axis.imshow(picture, interpolation="nearest")
            if row == 0:
                axis.set_title(title, fontsize=9)
            if column == 0:
                axis.text(-0.06, 0.5, model, transform=axis.transAxes, rotation=90, ha="right", va="center", fontsize=8)
    top, left, size = crop.box
    figure.suptitle(
        f"{crop.image}, {crop.codec} {setting_name} {crop.setting:g}, crop {size}x{size} at ({left}, {top})", fontsize=9
    )
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
