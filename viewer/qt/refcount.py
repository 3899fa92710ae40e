"""A guard against reference leaks in PySide6 6.12 / shiboken6 6.12 on Python 3.11.

Every call of a Qt method returning void (`update()`, `setText()`, `processEvents()`,
`QTimer.start()`, `QAbstractButton.click()` …) drops one reference to `None` that it never
took, and every `emit()` of a Qt signal from Python drops one to `True` (measured: -1.0 per
call, `sys.getrefcount`). A long-running program therefore drives their counts to zero and
dies with "Fatal Python error: none_dealloc" or "bool_dealloc": the kiosk's soak benchmark did,
after a few minutes (None) and after 1,780 visitor actions (True; every drawn frame emits
`rendered`). Python 3.12 made these constants immortal, which ends the problem there; on 3.11
they get a count no program can use up (2**40 leaked calls), which is what 3.12 does. Remove
this when PySide6 is fixed or Python 3.11 is dropped.
"""

from __future__ import annotations

import ctypes
import sys

#: the constants the leaks hit
CONSTANTS = (None, True, False)

_done = False


def keep_constants_alive() -> None:
    global _done
    if _done or sys.version_info >= (3, 12) or not hasattr(sys, "getrefcount"):
        return
    for constant in CONSTANTS:
        # ob_refcnt is the first field of every object in CPython's release builds
        ctypes.c_ssize_t.from_address(id(constant)).value += 1 << 40
    _done = True
