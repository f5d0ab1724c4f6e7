"""r² of simulator metrics against real-codec metrics across conditions (the paper's Table 4)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def r_squared(real: Sequence[float], simulated: Sequence[float]) -> float:
    """Squared Pearson correlation of two equally long series; nan with fewer than 3 finite pairs or no spread."""
    pairs = np.array([(a, b) for a, b in zip(real, simulated, strict=True) if math.isfinite(a) and math.isfinite(b)])
    if len(pairs) < 3 or pairs[:, 0].std() == 0 or pairs[:, 1].std() == 0:
        return float("nan")
    return float(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1] ** 2)


def condition_means(rows: Sequence[dict], simulator: str, column: str) -> dict[tuple[str, int], float]:
    """Mean of `column` over the images of each condition (codec, qp) of one simulator's rows."""
    groups: dict[tuple[str, int], list[float]] = {}
    for row in rows:
        if row["simulator"] == simulator and math.isfinite(row.get(column, float("nan"))):
            groups.setdefault((row["codec"], row["qp"]), []).append(row[column])
    return {condition: float(np.mean(values)) for condition, values in groups.items()}


def metric_r_squared(rows: Sequence[dict], simulators: Sequence[str], metrics: Sequence[str]) -> list[dict]:
    """Per simulator and metric: r² between metric(real codec output, clean) and metric(simulator output, clean)
    over the conditions' means (Table 4), and over single images (a stricter view), with the counts."""
    table = []
    for simulator in simulators:
        for metric in metrics:
            real = condition_means(rows, simulator, f"real_{metric}")
            simulated = condition_means(rows, simulator, f"sim_{metric}")
            shared = sorted(set(real) & set(simulated))
            per_image = [row for row in rows if row["simulator"] == simulator]
            table.append(
                {
                    "simulator": simulator,
                    "metric": metric,
                    "conditions": len(shared),
                    "r2_conditions": r_squared([real[c] for c in shared], [simulated[c] for c in shared]),
                    "r2_images": r_squared(
                        [r.get(f"real_{metric}", float("nan")) for r in per_image],
                        [r.get(f"sim_{metric}", float("nan")) for r in per_image],
                    ),
                }
            )
    return table
