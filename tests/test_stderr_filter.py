"""The command line's stderr keeps FacePop's words and drops native start-up notices,
whichever thread writes them and however the writes are cut (a real process: fd 2)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent('''
    import os, sys, threading
    from lib_facepop.stderr_filter import stderr_without

    NOTICE = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n"
    with stderr_without():
        os.write(2, b"before\\n")
        os.write(2, NOTICE)
        os.write(2, NOTICE[:12])  # a notice written in two pieces
        os.write(2, NOTICE[12:])
        worker = threading.Thread(target=os.write, args=(2, NOTICE))  # from another thread
        worker.start()
        worker.join()
        print("facepop: python's own stderr", file=sys.stderr, flush=True)
        os.write(2, b"\\r 10%|#   |\\r 20%|##  |")  # a progress bar, no newline
        os.write(2, b"\\nINFO: other native news\\n")
    print("after", file=sys.stderr)
''')


def test_native_notices_are_dropped_and_everything_else_kept_in_order() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, cwd=ROOT,
                          timeout=60)  # bytes: text mode would turn \r into \n
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode() == ("before\nfacepop: python's own stderr\n"
                                    "\r 10%|#   |\r 20%|##  |\nINFO: other native news\n"
                                    "after\n")
