"""BD-rate through the `bjontegaard` package: its README's example data, an independent formula, exact cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.bd_rate import bd_rate

# The example RD data in the README of FAU-LMS/bjontegaard (x265 presets, kbps and PSNR in dB); the README
# prints no results, so the expected values below are what bjontegaard 1.3.0 gives on them (a regression
# reference), cross-checked by the independent polynomial formula and the exact cases further down.
RATE_ANCHOR = [9487.76, 4593.60, 2486.44, 1358.24]
PSNR_ANCHOR = [40.037, 38.615, 36.845, 34.851]
RATE_TEST = [9787.80, 4469.00, 2451.52, 1356.24]
PSNR_TEST = [40.121, 38.651, 36.970, 34.987]
# example_usage.py, test case 2 (high bitrates)
HIGH_RATE_ANCHOR = [82472.76, 26875.24, 9487.76, 4593.6]
HIGH_PSNR_ANCHOR = [43.825, 41.404, 40.037, 38.615]
HIGH_RATE_TEST = [99896.96, 33952.04, 9787.8, 4469.0]
HIGH_PSNR_TEST = [44.731, 41.875, 40.121, 38.651]


@pytest.mark.parametrize(
    ("method", "low", "high"),
    [
        ("akima", -4.425245156997493, -4.0857609404152395),
        ("pchip", -4.417485350589045, -4.47218200276197),
        ("cubic", -4.420462706125383, -4.699437548068142),
    ],
)
def test_readme_example_data(method, low, high):
    assert bd_rate(RATE_ANCHOR, PSNR_ANCHOR, RATE_TEST, PSNR_TEST, method=method).percent == pytest.approx(
        low, abs=1e-9
    )
    assert bd_rate(
        HIGH_RATE_ANCHOR, HIGH_PSNR_ANCHOR, HIGH_RATE_TEST, HIGH_PSNR_TEST, method=method
    ).percent == pytest.approx(high, abs=1e-9)


def _vceg_m33(rate_anchor, psnr_anchor, rate_test, psnr_test) -> float:
    """Bjøntegaard's VCEG-M33 formula written out: cubic fit of log rate over PSNR, integrated over the overlap."""
    fit_anchor = np.polyint(np.polyfit(psnr_anchor, np.log10(rate_anchor), 3))
    fit_test = np.polyint(np.polyfit(psnr_test, np.log10(rate_test), 3))
    low, high = max(min(psnr_anchor), min(psnr_test)), min(max(psnr_anchor), max(psnr_test))
    anchor_area = np.polyval(fit_anchor, high) - np.polyval(fit_anchor, low)
    test_area = np.polyval(fit_test, high) - np.polyval(fit_test, low)
    return (10 ** ((test_area - anchor_area) / (high - low)) - 1) * 100


def test_cubic_equals_the_vceg_m33_formula():
    for data in (
        (RATE_ANCHOR, PSNR_ANCHOR, RATE_TEST, PSNR_TEST),
        (HIGH_RATE_ANCHOR, HIGH_PSNR_ANCHOR, HIGH_RATE_TEST, HIGH_PSNR_TEST),
    ):
        assert bd_rate(*data, method="cubic").percent == pytest.approx(_vceg_m33(*data), abs=1e-9)


@pytest.mark.parametrize("method", ["akima", "pchip", "cubic"])
def test_self_comparison_is_zero(method):
    import bjontegaard

    result = bd_rate(RATE_ANCHOR, PSNR_ANCHOR, RATE_ANCHOR, PSNR_ANCHOR, method=method)
    assert result.percent == 0.0 and result.note == "identical curves"
    assert (
        bjontegaard.bd_rate(RATE_ANCHOR, PSNR_ANCHOR, RATE_ANCHOR, PSNR_ANCHOR, method=method) == 0.0
    )  # the package too
    lpips = [0.20, 0.25, 0.31, 0.40]
    assert bjontegaard.bd_rate(RATE_ANCHOR, [-v for v in lpips], RATE_ANCHOR, [-v for v in lpips], method=method) == 0.0


@pytest.mark.parametrize("method", ["akima", "pchip", "cubic"])
@pytest.mark.parametrize("factor", [0.9, 1.25])
def test_constant_rate_ratio_is_exact(method, factor):
    """The same curve at `factor` times the rate: BDBR = (factor - 1) * 100 for any interpolation."""
    result = bd_rate(RATE_ANCHOR, PSNR_ANCHOR, [r * factor for r in RATE_ANCHOR], PSNR_ANCHOR, method=method)
    assert result.percent == pytest.approx((factor - 1) * 100, abs=1e-9)


def test_lower_is_better_metrics_and_point_order():
    lpips = [0.20, 0.25, 0.31, 0.40]  # falls as the rate grows
    forward = bd_rate(RATE_ANCHOR, lpips, [r * 0.8 for r in RATE_ANCHOR], lpips, higher_is_better=False)
    shuffled = bd_rate(RATE_ANCHOR[::-1], lpips[::-1], [r * 0.8 for r in RATE_ANCHOR], lpips, higher_is_better=False)
    assert forward.percent == pytest.approx(-20.0, abs=1e-9)
    assert shuffled.percent == pytest.approx(-20.0, abs=1e-9)


def test_cases_that_have_no_bd_rate():
    not_monotone = bd_rate(RATE_ANCHOR, PSNR_ANCHOR, RATE_TEST, [40.1, 38.6, 38.9, 34.9])
    assert math.isnan(not_monotone.percent) and "not monotone" in not_monotone.note
    wrong_direction = bd_rate(RATE_ANCHOR, PSNR_ANCHOR, RATE_TEST, PSNR_TEST, higher_is_better=False)
    assert math.isnan(wrong_direction.percent)
    one_point = bd_rate([1.0], [30.0], [1.0], [30.0])
    assert math.isnan(one_point.percent) and "at least 2" in one_point.note
    disjoint = bd_rate([1, 2], [30, 31], [1, 2], [40, 41])
    assert math.isnan(disjoint.percent) and "do not overlap" in disjoint.note
    with pytest.raises(ValueError, match="unknown BD interpolation"):
        bd_rate(RATE_ANCHOR, PSNR_ANCHOR, RATE_TEST, PSNR_TEST, method="linear")


def test_identical_curves_are_zero_even_when_not_monotone():
    psnr = [26.4, 26.6, 26.7, 26.6]  # peaks: more bits than that reproduce the degradation
    result = bd_rate(RATE_ANCHOR, psnr, RATE_ANCHOR[::-1], psnr[::-1])
    assert result.percent == 0.0 and result.note == "identical curves"


def test_pareto_points_drop_dominated_settings():
    rates, psnr = [1.0, 2.0, 3.0, 4.0], [30.0, 31.0, 32.0, 31.5]  # the 4.0 point is dominated by 3.0
    strict = bd_rate(rates, psnr, [r * 0.9 for r in rates], psnr)
    assert math.isnan(strict.percent) and "not monotone" in strict.note
    pareto = bd_rate(rates, psnr, [r * 0.9 for r in rates], psnr, pareto=True)
    assert pareto.percent == pytest.approx(-10.0, abs=1e-9)
    assert pareto.note == "anchor: 1 dominated point(s) dropped; test: 1 dominated point(s) dropped"
    expected = bd_rate(rates[:3], psnr[:3], [r * 0.9 for r in rates[:3]], psnr[:3])
    assert pareto.percent == pytest.approx(expected.percent)
    few = bd_rate([1.0, 2.0], [31.0, 30.0], [1.0, 2.0], [30.0, 31.0], pareto=True)
    assert math.isnan(few.percent) and "1 non-dominated point(s)" in few.note
