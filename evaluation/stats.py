"""Paired two-sided t-tests per image (Tables S2/S3): model vs baseline at each codec and setting.

Pairs are the same image at the same codec and setting (QP or CRF); the test is scipy.stats.ttest_rel.
Differences are model - baseline, so their sign reads with the metric's direction (METRICS[...].higher_is_better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairedTest:
    codec: str
    setting: float
    metric: str
    model: str
    baseline: str
    n: int
    mean_model: float
    mean_baseline: float
    mean_difference: float
    t_statistic: float
    p_value: float
    note: str = ""


def paired_ttests(rows: Sequence[dict], model: str, baseline: str, metrics: Sequence[str]) -> list[PairedTest]:
    """One test per (codec, setting, metric) over the images both models have."""
    from scipy.stats import ttest_rel

    by_key: dict[tuple, dict[str, dict]] = {}
    for row in rows:
        if row["model"] in (model, baseline):
            by_key.setdefault((row["codec"], row["setting"], row["image"]), {})[row["model"]] = row
    groups: dict[tuple, list[tuple[dict, dict]]] = {}
    for (codec, setting, _image), pair in by_key.items():
        if model in pair and baseline in pair:
            groups.setdefault((codec, setting), []).append((pair[model], pair[baseline]))
    tests = []
    for (codec, setting), pairs in sorted(groups.items()):
        for metric in metrics:
            values = np.array(
                [(m[metric], b[metric]) for m, b in pairs if metric in m and metric in b], dtype=np.float64
            )
            if len(values) == 0:
                continue
            differences = values[:, 0] - values[:, 1]
            note = ""
            if len(values) < 2:
                t, p, note = math.nan, math.nan, "fewer than 2 pairs"
            elif np.all(differences == differences[0]):
                t, p, note = math.nan, math.nan, "all differences equal (identical outputs when 0)"
            else:
                result = ttest_rel(values[:, 0], values[:, 1])
                t, p = float(result.statistic), float(result.pvalue)
            tests.append(
                PairedTest(
                    codec,
                    setting,
                    metric,
                    model,
                    baseline,
                    len(values),
                    float(values[:, 0].mean()),
                    float(values[:, 1].mean()),
                    float(differences.mean()),
                    t,
                    p,
                    note,
                )
            )
    return tests
