"""Keep Ray's token-auth banner off a local factory run's terminal, without changing what Ray does.

A new local cluster (``ray.init()`` without an address) turns token authentication on by default and
logs "Token authentication is enabled for this Ray cluster ..." at every start. The cluster still
gets its token; only that one log record is dropped, and only while a local cluster starts. Runs that
join a cluster (``--address``) keep every Ray message, and RAY_AUTH_MODE keeps its meaning.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

TOKEN_SETUP_LOGGER = "ray._private.authentication.authentication_token_setup"
BANNER_START = "Token authentication is enabled for this Ray cluster"


def _not_the_banner(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(BANNER_START)


@contextlib.contextmanager
def quiet_local_token_banner(local: bool) -> Iterator[None]:
    """Within the block, drop the banner record if ``local`` (a cluster this process starts)."""
    if not local:
        yield
        return
    logger = logging.getLogger(TOKEN_SETUP_LOGGER)
    logger.addFilter(_not_the_banner)
    try:
        yield
    finally:
        logger.removeFilter(_not_the_banner)
