"""Writing generated files so that a killed build never leaves one half-written.

Every generated file (kernel modules, LaTeX chapters, the book) goes through
:func:`write_atomic`: the text is written to a temporary file in the target's
folder and renamed over the target.  A rename within one file system is atomic
(POSIX ``rename``), so at every moment the target holds either its old bytes or
its new bytes, never a prefix of them.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``, replacing it in one rename.

    The file keeps its permissions when it exists; a new file gets the
    permissions an ordinary write would give it (``0o666`` less the umask).
    If anything fails before the rename, ``path`` is untouched and the
    temporary file is removed.
    """
    path = Path(path)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask()
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set back at once)."""
    current = os.umask(0)
    os.umask(current)
    return current
