"""Writing a file atomically: into a temporary file beside it, then ``os.replace``."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_output_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; on success, move it onto ``target``.

    The caller writes the whole file to the yielded path (it exists, empty, with the usual
    permissions under the umask). If the block raises, the temporary file is removed and
    ``target`` is left as it was (absent, or the previous version), so a reader never sees a
    half-written file. The folder must exist.
    """
    target = Path(target)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.partial")
    # O_EXCL: never reuse a file someone else created; mode 0o666 is narrowed by the umask.
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
