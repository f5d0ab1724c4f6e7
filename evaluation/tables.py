"""Aggregates of the per-image rows: mean ± std per setting, BDBR per codec and metric, and the Markdown
summary laid out like the paper's Table 1 (one block per codec: rows per setting and model, then BDBR rows)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from evaluation.bd_rate import BdRate, bd_rate
from evaluation.metrics import METRICS, SET_METRICS
from evaluation.protocol import EvalResult
from evaluation.stats import PairedTest


def summarize(result: EvalResult) -> list[dict]:
    """One row per (model, codec, setting): n, bpp and every metric as mean and std over the images; FID as is."""
    groups: dict[tuple, list[dict]] = {}
    for row in result.rows:
        groups.setdefault((row["model"], row["codec"], row["setting"]), []).append(row)
    summary = []
    for model in result.models:
        for codec in result.config.codecs:
            for setting in result.config.settings_for(codec):
                rows = groups.get((model, codec, setting), [])
                if not rows:
                    continue
                left_out = sum(
                    (r["model"], r["codec"], r["setting"]) == (model, codec, setting) for r in result.left_out
                )
                entry = {"model": model, "codec": codec, "setting": setting, "n": len(rows), "left_out": left_out}
                for column in (
                    "bpp",
                    "target_bpp",
                    "rate_error_pct",
                    *[m for m in result.metrics if m not in SET_METRICS],
                ):
                    values = np.array([r[column] for r in rows], dtype=np.float64)
                    entry[f"{column}_mean"], entry[f"{column}_std"] = float(values.mean()), float(values.std())
                if "fid" in result.metrics:
                    entry["fid_mean"], entry["fid_std"] = result.fid.get((model, codec, setting), math.nan), math.nan
                summary.append(entry)
    return summary


def bd_rates(result: EvalResult, summary: Sequence[dict], baseline: str) -> list[dict]:
    """BDBR of each model vs `baseline` per codec and metric, on the mean bpp and mean metric per setting."""
    table = []
    for model in result.models:
        if model == baseline:
            continue
        for codec in result.config.codecs:
            curves = {m: [s for s in summary if s["model"] == m and s["codec"] == codec] for m in (model, baseline)}
            for metric in result.metrics:
                anchor, test = curves[baseline], curves[model]
                curves_args = (
                    [s["bpp_mean"] for s in anchor],
                    [s[f"{metric}_mean"] for s in anchor],
                    [s["bpp_mean"] for s in test],
                    [s[f"{metric}_mean"] for s in test],
                )
                options = {"higher_is_better": METRICS[metric].higher_is_better, "method": result.config.bd_method}
                value: BdRate = bd_rate(*curves_args, **options)
                pareto: BdRate = bd_rate(*curves_args, **options, pareto=True)
                table.append(
                    {
                        "model": model,
                        "baseline": baseline,
                        "codec": codec,
                        "metric": metric,
                        "bd_rate_pct": value.percent,
                        "note": value.note,
                        "bd_rate_pareto_pct": pareto.percent,
                        "pareto_note": pareto.note,
                    }
                )
    return table


def _cell(mean: float, std: float, precision: int) -> str:
    if math.isnan(mean):
        return "–"
    return f"{mean:.{precision}f}" if math.isnan(std) else f"{mean:.{precision}f} ± {std:.{precision}f}"


def _percent(value: float, note: str = "") -> str:
    """A BDBR cell; † marks a value that comes with a warning (little curve overlap, dropped points)."""
    if math.isnan(value):
        return "n/a"
    return f"{value:+.2f} %" + (" †" if note and note != "identical curves" else "")


def markdown(
    result: EvalResult, summary: Sequence[dict], bd: Sequence[dict], tests: Sequence[PairedTest], baseline: str
) -> str:
    config = result.config
    columns = [m for m in METRICS if m in config.metrics]
    setting_name = "QP" if config.mode == "qp" else "CRF"
    lines = [
        f"# Evaluation: {', '.join(result.models)} (baseline {baseline})",
        "",
        f"{config.data}: {len({r['image'] for r in result.rows})} images, centre crop {config.size}, degradation "
        f"{config.degradation} x{config.scale} (seed {config.seed}); mode {config.mode}: "
        + (
            "every output rate-matched to the size R̄ of the upsampled degraded input at QP q (within one QP step)"
            if config.mode == "qp"
            else "degraded input and output both encoded at the same CRF (no rate matching)"
        )
        + ". bpp = the output's own bitstream. Values: mean ± std over images; FID over the set.",
        "",
    ]
    for codec in config.codecs:
        lines += [
            f"## {codec} ({result.encoders.get(codec, {}).get('preset', config.preset_for(codec))})",
            "",
            "| Model | "
            + config.setting_name(codec)
            + " | bpp | "
            + " | ".join(METRICS[m].label for m in columns)
            + " |",
            "|---|---|---|" + "---|" * len(columns),
        ]
        for setting in config.settings_for(codec):
            for entry in (s for s in summary if s["codec"] == codec and s["setting"] == setting):
                cells = [
                    _cell(entry.get(f"{m}_mean", math.nan), entry.get(f"{m}_std", math.nan), METRICS[m].precision)
                    if m in result.metrics
                    else "n/a"
                    for m in columns
                ]
                lines.append(
                    f"| {entry['model']} | {setting:g} | {_cell(entry['bpp_mean'], entry['bpp_std'], 4)} | "
                    + " | ".join(cells)
                    + " |"
                )
        for model in (m for m in result.models if m != baseline):
            entries = [b for b in bd if b["codec"] == codec and b["model"] == model]
            strict = {b["metric"]: _percent(b["bd_rate_pct"], b["note"]) for b in entries}
            lines.append(
                f"| **BDBR {model} vs {baseline}** | | – | " + " | ".join(strict.get(m, "n/a") for m in columns) + " |"
            )
            if any(b["pareto_note"] != b["note"] for b in entries):
                pareto = {b["metric"]: _percent(b["bd_rate_pareto_pct"], b["pareto_note"]) for b in entries}
                lines.append(
                    f"| BDBR {model} vs {baseline}, Pareto points¹ | | – | "
                    + " | ".join(pareto.get(m, "n/a") for m in columns)
                    + " |"
                )
        lines += _left_out_line(result, codec)
        lines.append("")
    lines += _notes(result, bd, columns)
    lines += _ttest_lines(tests, columns, setting_name)
    return "\n".join(lines) + "\n"


def _left_out_line(result: EvalResult, codec: str) -> list[str]:
    """How many points of this codec's block are not in its means and BDBR rows, and why."""
    points = [r for r in result.left_out if r["codec"] == codec]
    if not points:
        return []
    unmatched = sum("qp" in r for r in points)
    return [
        "",
        f"Left out of the means, t-tests and BDBR: {len(points)} points ({unmatched} whose rate no QP matches "
        f"within one step, {len(points) - unmatched} the model failed on); each is a row of left_out.csv.",
    ]


def _notes(result: EvalResult, bd: Sequence[dict], columns: Sequence[str]) -> list[str]:
    config = result.config
    errors = [abs(r["rate_error_pct"]) for r in result.rows]
    lines = [
        "## Notes",
        "",
        "- PSNR-Y / SSIM-Y: BT.601 limited-range luma (float, MATLAB rgb2ycbcr); PSNR-RGB / SSIM-RGB: all three channels "
        "(SSIM-RGB = mean of per-channel SSIM). SSIM: Gaussian 11x11, sigma 1.5, K = (0.01, 0.03), valid region.",
        f"- BDBR: `bjontegaard` package, {config.bd_method} interpolation of log10(bpp) over each metric (negated for "
        "lower-is-better metrics), on the mean per setting; negative = the model needs fewer bits than the baseline.",
        f"- Rate matching: {len(errors)} outputs, max |size - R̄| = {max(errors, default=0.0):.2f} % of R̄"
        + (
            " (every one within one QP step of R̄, checked by encoding the neighbouring QP)."
            if config.mode == "qp"
            else "."
        ),
        f"- Colour fix: {config.color_fix}"
        + (
            f" (toward the upsampled LQ input, applied to the "
            f"{'decoded output' if config.color_fix_at == 'decoded' else 'SR output before encoding'})."
            if config.color_fix != "none"
            else "."
        ),
        f"- Run time {result.seconds:.1f} s. Encoders: "
        + "; ".join(f"{c}: {e.get('encoder_version')}, preset {e.get('preset')}" for c, e in result.encoders.items()),
    ]
    for metric, reason in result.unavailable.items():
        lines.append(f"- **{metric} unavailable**: {reason}")
    if any(b["note"] not in ("", "identical curves") or b["pareto_note"] not in ("", "identical curves") for b in bd):
        lines.append(
            "- † the BDBR comes with a warning (below): the curves overlap little, or points were dropped; "
            "nearly flat RD curves turn small quality differences into large rate differences."
        )
    if any(b["pareto_note"] != b["note"] for b in bd):
        lines.append(
            "- ¹ Pareto points: each RD curve without its dominated points (a setting whose mean quality is not "
            "better than that of a cheaper setting), so that a curve that is not monotone still has a BDBR."
        )
    for entry in (b for b in bd if b["note"] and b["note"] != "identical curves"):
        lines.append(
            f"- BDBR {entry['model']} vs {entry['baseline']}, {entry['codec']} {entry['metric']}: {entry['note']}"
            + (f" (Pareto: {entry['pareto_note']})" if entry["pareto_note"] else "")
        )
    return lines + [""]


def _test_cell(test: PairedTest, precision: int) -> str:
    if math.isnan(test.p_value):
        return f"{test.mean_difference:+.{precision}f} ({'identical' if test.mean_difference == 0 else test.note})"
    return f"{test.mean_difference:+.{precision}f} (p={test.p_value:.2g})"


def _ttest_lines(tests: Sequence[PairedTest], columns: Sequence[str], setting_name: str) -> list[str]:
    if not tests:
        return []
    per_image = [m for m in columns if m not in SET_METRICS and any(t.metric == m for t in tests)]
    lines = [
        "## Paired two-sided t-tests per image (model - baseline: mean difference, p)",
        "",
        "| Model | Codec | " + setting_name + " | n | " + " | ".join(METRICS[m].label for m in per_image) + " |",
        "|---|---|---|---|" + "---|" * len(per_image),
    ]
    keys = sorted({(t.model, t.codec, t.setting, t.n) for t in tests}, key=lambda k: (k[0], k[1], k[2]))
    for model, codec, setting, n in keys:
        found = {t.metric: t for t in tests if (t.model, t.codec, t.setting) == (model, codec, setting)}
        cells = [_test_cell(found[m], METRICS[m].precision) if m in found else "–" for m in per_image]
        lines.append(f"| {model} | {codec} | {setting:g} | {n} | " + " | ".join(cells) + " |")
    return lines + [""]
