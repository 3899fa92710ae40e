"""The kiosk's UI process: `python -m viewer.kiosk.app` (the supervisor starts it; so may
tests and benchmarks). Exit code 0 only after the staff PIN; anything else is a crash."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from viewer.kiosk.config import load_config


def size_arg(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"error: --size must look like 1920x1080, not {text!r}") from None
    return w, h


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m viewer.kiosk.app")
    p.add_argument("--config", type=Path, default=None)
    p.add_argument("--archive", type=Path, required=True)
    p.add_argument("--size", default=None, help="a window of WxH instead of full screen")
    p.add_argument("--heartbeat", type=Path, default=None)
    p.add_argument("--start", choices=["attract", "home"], default="attract")
    p.add_argument("--standby", action="store_true",
                   help="load everything, then wait for SIGUSR1 before opening the window "
                        "(the supervisor's warm spare: a restart skips the imports)")
    return p


def run(config_path: Path | None, archive: Path, size: tuple[int, int] | None = None,
        heartbeat: Path | None = None, start: str = "attract") -> int:
    config = load_config(config_path)
    from PySide6.QtWidgets import QApplication

    from viewer.allocator import return_freed_memory
    from viewer.kiosk.settle import SettleIn
    from viewer.kiosk.window import KioskWindow

    return_freed_memory()  # meshes read and dropped all day: see allocator.py
    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = KioskWindow(config, archive, size=size, heartbeat=heartbeat, start=start)
    window.exited.connect(app.exit)
    window.show_kiosk()
    SettleIn(window).after_first_frame(window.view)

    def terminate(*_args) -> None:  # the supervisor's nightly restart, or systemd stopping
        window.exit_allowed = True
        window.close()
        app.exit(0)

    signal.signal(signal.SIGTERM, terminate)
    return app.exec()


def standby() -> None:
    """Import the heavy modules and connect to the display, then wait for SIGUSR1."""
    from PySide6.QtWidgets import QApplication

    import viewer.kiosk.window  # noqa: F401 - Qt, VTK, pyvista: the slow part of a start

    QApplication.instance() or QApplication([sys.argv[0]])
    signal.sigwait({signal.SIGUSR1})


def main(argv: list[str] | None = None) -> int:
    # blocked from the start, so an early SIGUSR1 waits for `standby` instead of killing us
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    args = build_parser().parse_args(argv)
    if args.standby:
        standby()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    return run(args.config, args.archive, size_arg(args.size), args.heartbeat, args.start)


if __name__ == "__main__":
    sys.exit(main())
