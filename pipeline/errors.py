"""The one exception type the CLI turns into a single clear line."""

from __future__ import annotations


class CxnError(Exception):
    """An error a user can act on: its message is printed as one line, without a traceback."""


class LoadError(CxnError):
    """A day's extracts cannot be loaded; nothing of that day was written."""


class BuildError(CxnError):
    """A model or a data test failed; the as-of date was not published."""


class NotBuiltError(CxnError):
    """Something downstream asked for an as-of date that has not been built."""
