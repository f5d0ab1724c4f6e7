"""The one exception type of the pipeline package."""

from __future__ import annotations


class SourceError(Exception):
    """An input cannot be listed, read, decoded or cropped; the message names it and says why."""
