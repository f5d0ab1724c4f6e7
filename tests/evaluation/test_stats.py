from __future__ import annotations

import math
import random

import pytest
from scipy.stats import ttest_rel

from evaluation.stats import paired_ttests


def _rows(model, values, codec="x264", setting=32):
    return [
        {"image": f"im{i}", "model": model, "codec": codec, "setting": setting, "psnr_y": v}
        for i, v in enumerate(values)
    ]


def test_paired_by_image_and_equal_to_scipy():
    model, baseline = [30.1, 28.4, 31.0, 27.7, 29.9], [29.8, 28.5, 30.2, 27.1, 29.0]
    rows = _rows("m", model) + _rows("b", baseline)
    random.Random(0).shuffle(rows)
    (test,) = paired_ttests(rows, "m", "b", ["psnr_y"])
    expected = ttest_rel(model, baseline)
    assert (
        test.n == 5
        and test.t_statistic == pytest.approx(expected.statistic)
        and test.p_value == pytest.approx(expected.pvalue)
    )
    assert test.mean_difference == pytest.approx(sum(model) / 5 - sum(baseline) / 5)


def test_identical_outputs_and_missing_pairs():
    rows = _rows("m", [1.0, 2.0, 3.0]) + _rows("b", [1.0, 2.0, 3.0]) + _rows("m", [5.0], setting=37)
    tests = paired_ttests(rows, "m", "b", ["psnr_y"])
    assert len(tests) == 1 and math.isnan(tests[0].p_value) and "identical" in tests[0].note
