"""How every file of this project is written: whole or not at all (results, plots, models)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """Call write(tmp) on a temporary file beside path, then rename it over path.

    A crash or Ctrl-C part-way leaves the old file (or none), never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the first error is the one to see
            tmp.unlink(missing_ok=True)
        raise


def save_figure(fig: object, path: str | os.PathLike) -> None:
    """Write a matplotlib figure as a PNG, whole or not at all."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
