"""Temporarily set environment variables (restored afterwards, even on failure)."""

from __future__ import annotations

import os
from contextlib import contextmanager


@contextmanager
def scoped_environ(names):
    """Restore the variables ``names`` to their values at entry when the block ends.

    >>> import os
    >>> with scoped_environ(["REPORT_DOCTEST"]):
    ...     os.environ["REPORT_DOCTEST"] = "1"
    >>> "REPORT_DOCTEST" in os.environ
    False
    """
    saved = {k: os.environ.get(k) for k in names}
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
