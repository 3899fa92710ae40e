"""A guard against a reference leak in PySide6 6.12 / shiboken6 6.12 on Python 3.11.

Every call of a Qt method returning void (`update()`, `setText()`, `processEvents()`,
`QTimer.start()`, `QTouchEventSequence.commit()` …) drops one reference to `None` that it
never took (measured: -1.0 per call, `sys.getrefcount(None)`). A long-running program therefore
drives None's count to zero and dies with "Fatal Python error: none_dealloc" — the kiosk's soak
benchmark did after a few minutes. Python 3.12 made None immortal, which ends the problem there;
on 3.11 we give None a count no program can use up (2**40 leaked calls), which is what 3.12
does. Remove this when PySide6 is fixed or Python 3.11 is dropped.
"""

from __future__ import annotations

import ctypes
import sys

_done = False


def keep_none_alive() -> None:
    global _done
    if _done or sys.version_info >= (3, 12) or not hasattr(sys, "getrefcount"):
        return
    # ob_refcnt is the first field of every object in CPython's release builds
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
    _done = True
