"""Small file-system helpers shared by the modules that write files atomically
(model_io, checkpoint, draw): each writes a temporary file, then renames it over the target."""

from __future__ import annotations

import contextlib
import os


def umask() -> int:
    """The process's umask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_quietly(path) -> None:
    """Remove ``path`` if it exists (a temporary file left by a failed write)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
