"""Evaluation: the paper's protocol (Table 1, S1-S4), metrics, BD-rate, t-tests, tables and plots.

from evaluation import EvalConfig, build_metrics, evaluate, resolve_model, write_report
config = EvalConfig(data="../shared/data/kodak", codecs=("x264",), qps=(32, 37, 42, 47))
models = {spec: resolve_model(spec, config.scale) for spec in ("identity", "bicubic")}
result = evaluate(config, models, build_metrics(config.metrics))
write_report(result, "results/kodak", baseline="identity")
"""

from evaluation.bd_rate import BdRate, bd_rate
from evaluation.config import EvalConfig
from evaluation.errors import EvaluationError, MetricUnavailable
from evaluation.matching import MatchedPicture, match_within_one_qp
from evaluation.metrics import METRICS, MetricSuite, build_metrics
from evaluation.models import (
    MODEL_FACTORIES,
    POST_FACTORIES,
    SIMULATOR_FACTORIES,
    resolve_model,
    resolve_post,
    resolve_simulator,
)
from evaluation.protocol import CropSet, EvalResult, evaluate
from evaluation.report import write_report
from evaluation.stats import PairedTest, paired_ttests

__all__ = [
    "METRICS",
    "MODEL_FACTORIES",
    "POST_FACTORIES",
    "SIMULATOR_FACTORIES",
    "BdRate",
    "CropSet",
    "EvalConfig",
    "EvalResult",
    "EvaluationError",
    "MatchedPicture",
    "MetricSuite",
    "MetricUnavailable",
    "PairedTest",
    "bd_rate",
    "build_metrics",
    "evaluate",
    "match_within_one_qp",
    "paired_ttests",
    "resolve_model",
    "resolve_post",
    "resolve_simulator",
    "write_report",
]
