"""File names built from data (a seller id naming its PDF) stay inside their folder.

The loader already refuses seller ids that are not plain names (SPEC §2); this is the
second line of defence, for warehouses loaded before that rule and for any other value
that ends up in a file name: the name is checked on its own, then the joined path is
checked against its folder, without following links.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import CxnError


class UnsafeNameError(CxnError):
    """A file name built from data would leave its folder."""


def child(folder: Path, name: str) -> Path:
    """`folder / name` for a `name` derived from data, refused unless it stays in `folder`."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or name.startswith(".")
    ):
        raise UnsafeNameError(
            f"{name!r} is not a plain file name; refusing to write it under {folder}"
        )
    base = os.path.normpath(os.path.abspath(folder))
    path = os.path.normpath(os.path.join(base, name))
    if os.path.dirname(path) != base:
        raise UnsafeNameError(f"{name!r} would be written outside {folder}; refusing")
    return folder / name
