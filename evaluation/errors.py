"""The evaluation's two exceptions: a protocol step that failed, and a metric that cannot be computed here."""

from __future__ import annotations


class EvaluationError(Exception):
    """A protocol step failed; the message names the image, codec, setting and model involved."""


class MetricUnavailable(Exception):
    """A metric needs something this machine lacks (pretrained weights); `reason` says what and where to put it."""

    def __init__(self, metric: str, reason: str):
        super().__init__(f"{metric}: {reason}")
        self.metric = metric
        self.reason = reason
