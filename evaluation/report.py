"""The results folder of one evaluation.

  per_image.csv   one row per (image, model, codec, setting): rate columns and every per-image metric
  summary.csv     mean and std per (model, codec, setting), FID
  bd_rate.csv     BDBR per (model vs baseline, codec, metric), with a note when it is n/a
  ttests.csv      paired two-sided t-tests per image (model vs baseline per codec, setting, metric)
  summary.md      the Table 1 style summary (and the t-tests), with which PSNR/SSIM, BD method, what is unavailable
  rd/<codec>_<metric>.png          RD curves
  crops/<image>_<codec>_<setting>.png  side-by-side crops
  run.json        config, models, metric provenance (weight files and hashes), unavailable metrics, encoders, time
Each file is written to a temporary name and renamed, so a partial file never looks finished.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from importlib import metadata
from pathlib import Path

from evaluation.metrics import SET_METRICS
from evaluation.plots import crop_sheet, rd_curve
from evaluation.protocol import EvalResult
from evaluation.stats import paired_ttests
from evaluation.tables import bd_rates, markdown, summarize

PACKAGES = ("torch", "lpips", "pytorch-fid", "dists-pytorch", "bjontegaard", "scipy", "numpy", "opencv-python-headless")


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _csv(rows: list[dict]) -> str:
    stream = io.StringIO()
    if rows:
        fields = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(stream, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return stream.getvalue()


def _versions() -> dict[str, str | None]:
    found = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _json_number(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_report(result: EvalResult, out_dir: str | Path, baseline: str) -> dict[str, Path]:
    """Write the results folder; returns {what: path}. `baseline` must be one of result.models."""
    if baseline not in result.models:
        raise ValueError(f"baseline {baseline!r} is not among the evaluated models {result.models}")
    out = Path(out_dir)
    (out / "rd").mkdir(parents=True, exist_ok=True)
    (out / "crops").mkdir(exist_ok=True)
    setting_name = "QP" if result.config.mode == "qp" else "CRF"
    summary = summarize(result)
    bd = bd_rates(result, summary, baseline)
    per_image_metrics = [m for m in result.metrics if m not in SET_METRICS]
    tests = [
        t
        for model in result.models
        if model != baseline
        for t in paired_ttests(result.rows, model, baseline, per_image_metrics)
    ]
    paths = {
        "per_image": out / "per_image.csv",
        "left_out": out / "left_out.csv",
        "summary_csv": out / "summary.csv",
        "bd_rate": out / "bd_rate.csv",
        "ttests": out / "ttests.csv",
        "summary": out / "summary.md",
        "run": out / "run.json",
    }
    _write(paths["per_image"], _csv(result.rows))
    _write(paths["left_out"], _csv(result.left_out))
    _write(paths["summary_csv"], _csv(summary))
    _write(paths["bd_rate"], _csv(bd))
    _write(paths["ttests"], _csv([dataclasses.asdict(t) for t in tests]))
    _write(paths["summary"], markdown(result, summary, bd, tests, baseline))
    for codec in result.config.codecs:
        for metric in result.metrics:
            paths[f"rd_{codec}_{metric}"] = rd_curve(
                out / "rd" / f"{codec}_{metric}.png", summary, codec, metric, result.models, bd, setting_name
            )
    for crop in result.crops:
        name = f"{_safe(Path(crop.image).stem)}_{crop.codec}_{setting_name.lower()}{crop.setting:g}.png"
        paths[f"crop_{name}"] = crop_sheet(out / "crops" / name, crop, setting_name)
    run = {
        "config": result.config.to_json(),
        "models": result.models,
        "baseline": baseline,
        "metrics": result.metrics,
        "unavailable": result.unavailable,
        "provenance": result.provenance,
        "encoders": result.encoders,
        "seconds": result.seconds,
        "images": sorted({r["image"] for r in [*result.rows, *result.left_out]}),
        "left_out": result.left_out,
        "versions": _versions(),
        "fid": [{"model": m, "codec": c, "setting": s, "fid": _json_number(v)} for (m, c, s), v in result.fid.items()],
        "bd_rate": [{**b, "bd_rate_pct": _json_number(b["bd_rate_pct"])} for b in bd],
    }
    _write(paths["run"], json.dumps(run, indent=2, default=str) + "\n")
    return paths
