"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse
import os


def int_list(text: str) -> tuple[int, ...]:
    """'20,22,30' or '20-50' or '20-50/2' (inclusive range with a step)."""
    values: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part:
                span, _, step = part.partition("/")
                low, high = (int(v) for v in span.split("-"))
                values.extend(range(low, high + 1, int(step or 1)))
            elif part:
                values.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a QP list: {text!r} (try '20-50/2' or '22,27,32')") from None
    return tuple(values)


def float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None


def name_list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def storage_options(endpoint_url: str | None) -> dict | None:
    """fsspec options for s3://: the endpoint may be given; credentials come from the environment only."""
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    return {"client_kwargs": {"endpoint_url": endpoint_url}} if endpoint_url else None
