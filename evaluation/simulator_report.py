"""The files of `vrpsr eval simulator`: rows.csv, summary.csv, r2.csv, report.md (Table 3 and Table 4
layouts), one RD-style plot per codec and metric (fidelity vs bpp, a line per simulator), crop sheets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from evaluation.metrics import METRICS
from evaluation.report import _csv, _safe, _write
from evaluation.simulator_fidelity import FidelityResult

MARKERS = "osD^vP*X"


def _cell(value: float | None, precision: int) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{precision}f}"


def fidelity_markdown(result: FidelityResult) -> str:
    """Table 3: fidelity of each simulator to the real codec per codec and bpp bucket; Table 4: r²."""
    columns = [*result.metrics, *(["fid"] if any("fid" in s for s in result.summary) else [])]
    arrows = {m: "↑" if METRICS[m].higher_is_better else "↓" for m in columns}
    lines = [
        (
            "## Simulator vs real codec (Table 3 layout: the simulator's output measured against the real "
            "codec's output at the same condition)"
        ),
        "",
        "| simulator | codec | bpp | n | " + " | ".join(f"{METRICS[m].label} {arrows[m]}" for m in columns) + " |",
        "|---|---|---|---|" + "---|" * len(columns),
    ]
    for entry in result.summary:
        cells = [_cell(entry.get(m), METRICS[m].precision) for m in columns]
        lines.append(
            f"| {entry['simulator']} | {entry['codec']} | {entry['bucket']} | {entry['n']} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        (
            "## r² of simulator vs real-codec metrics (Table 4 layout: each metric against the clean "
            "picture, simulator output vs real output)"
        ),
        "",
        "| simulator | " + " | ".join(f"{METRICS[m].label} (conditions / images)" for m in result.metrics) + " |",
        "|---|" + "---|" * len(result.metrics),
    ]
    for simulator in result.simulators:
        cells = [next(r for r in result.r2 if (r["simulator"], r["metric"]) == (simulator, m)) for m in result.metrics]
        lines.append(
            f"| {simulator} | "
            + " | ".join(f"{_cell(c['r2_conditions'], 3)} / {_cell(c['r2_images'], 3)}" for c in cells)
            + " |"
        )
    config = result.config
    pictures = len({r["image"] for r in result.rows})
    lines += [
        "",
        (
            f"{pictures} pictures ({config.size}x{config.size} centre crops of {config.data}), codecs "
            f"{', '.join(config.codecs)}, QPs {', '.join(map(str, config.qps))}; bpp buckets by the real codec's "
            f"rate; FID over each bucket's pictures (few pictures: indicative only); r² over the (codec, QP) "
            f"means and over single pictures. {result.seconds:.0f} s."
        ),
    ]
    return "\n".join(lines) + "\n"


def fidelity_plot(path: Path, result: FidelityResult, codec: str, metric: str) -> Path:
    """Mean fidelity vs mean real bpp per QP, one line per simulator."""
    figure, axes = plt.subplots(figsize=(6.0, 4.2), dpi=120)
    for number, simulator in enumerate(result.simulators):
        points = []
        for qp in result.config.qps:
            group = [r for r in result.rows if (r["simulator"], r["codec"], r["qp"]) == (simulator, codec, qp)]
            if group:
                points.append((sum(r["bpp"] for r in group) / len(group), sum(r[metric] for r in group) / len(group)))
        points.sort()
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            label=simulator,
            marker=MARKERS[number % len(MARKERS)],
            markerfacecolor="none",
        )
    info = METRICS[metric]
    axes.set(
        xlabel="bpp of the real codec (mean over pictures)",
        ylabel=f"{info.label}: simulator vs real codec",
        title=f"{codec}: fidelity to the real codec ({'higher' if info.higher_is_better else 'lower'} is better)",
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def fidelity_crop_sheet(path: Path, crop: dict) -> Path:
    """One row: clean, real codec, then each simulator, at the same condition."""
    pictures = crop["pictures"]
    figure, axes = plt.subplots(1, len(pictures), figsize=(2.4 * len(pictures), 2.7), dpi=100, squeeze=False)
    for axis, (label, picture) in zip(axes[0], pictures.items()):
        axis.imshow(picture, interpolation="nearest")
        axis.set_title(label, fontsize=8)
        axis.axis("off")
    figure.suptitle(f"{crop['image']}, {crop['codec']} QP {crop['qp']} ({crop['bpp']:.3f} bpp)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def write_fidelity_report(result: FidelityResult, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    (out / "crops").mkdir(parents=True, exist_ok=True)
    paths = {
        "rows": out / "rows.csv",
        "summary": out / "summary.csv",
        "r2": out / "r2.csv",
        "report": out / "report.md",
        "config": out / "config.json",
    }
    _write(paths["rows"], _csv(result.rows))
    _write(paths["summary"], _csv(result.summary))
    _write(paths["r2"], _csv(result.r2))
    _write(paths["report"], fidelity_markdown(result))
    _write(
        paths["config"],
        json.dumps({"config": result.config.__dict__, "simulators": result.simulators}, indent=2, default=str),
    )
    for codec in result.config.codecs:
        for metric in result.metrics:
            fidelity_plot(out / "plots" / f"{_safe(codec)}_{metric}.png", result, codec, metric)
    for crop in result.crops:
        fidelity_crop_sheet(out / "crops" / f"{_safe(crop['image'])}_{crop['codec']}_qp{crop['qp']}.png", crop)
    return paths
