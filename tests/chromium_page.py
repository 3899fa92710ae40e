"""Open a published folder in headless Chromium from a local HTTP server, through the DevTools
protocol (aiohttp's websocket client): console messages, every request and its status, page
evaluation and a screenshot. Shared by tests/test_publish.py and benchmarks/bench_share.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import http.server
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run",
         # WebGL without a GPU: SwiftShader, which Chromium only enables when asked.
         "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
         "--window-size=960,600", "--remote-debugging-port=0"]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@dataclass
class PageRun:
    console: list[tuple[str, str]] = field(default_factory=list)   # (level, text)
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, status) served
    results: dict[str, Any] = field(default_factory=dict)
    screenshot: bytes = b""
    ready_seconds: float = 0.0     # navigation -> stadtzeit.ready (the first tiles drawn)
    settled_seconds: float = 0.0   # navigation -> stadtzeit.drawn() (all shown tiles, globe)

    @property
    def errors(self) -> list[str]:
        return [text for level, text in self.console if level == "error"]


class _Handler(http.server.SimpleHTTPRequestHandler):
    log: list[tuple[str, int]]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, *args: Any) -> None:
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, list[tuple[str, int]]]:
    log: list[tuple[str, int]] = []
    handler = type("Handler", (_Handler,), {"log": log})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, log


@contextlib.contextmanager
def browser(folder: Path) -> Iterator[tuple[int, str, list[tuple[str, int]]]]:
    """Serve ``folder`` on 127.0.0.1 and start headless Chromium: (DevTools port, the server's
    base URL, the request log); both are stopped on leaving."""
    server, log = serve(folder)
    profile = tempfile.mkdtemp(prefix="stadtzeit-chromium-")
    proc = subprocess.Popen([chromium(), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield (_devtools_port(proc, timeout=30), f"http://127.0.0.1:{server.server_address[1]}",
               log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(folder: Path, evaluate: dict[str, str], *, query: str = "",
              page: str = "index.html", init_script: str = "",
              timeout: float = 120.0) -> PageRun:
    """Serve ``folder``, load ``page`` (with ``init_script`` run before the page's own
    scripts), await ``stadtzeit.ready`` and then ``stadtzeit.drawn()``, evaluate each
    expression of ``evaluate`` (name -> JS), take a screenshot."""
    with browser(folder) as (port, base, log):
        run = asyncio.run(_drive(port, f"{base}/{page}{query}", evaluate, init_script, timeout))
        run.requests = list(log)
        return run


def _devtools_port(proc: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode} before DevTools opened")
        m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # drain
            return int(m[1])
    raise RuntimeError("chromium did not open DevTools in time")


async def _drive(port: int, url: str, evaluate: dict[str, str], init_script: str,
                 timeout: float) -> PageRun:
    import aiohttp
    run = PageRun()
    ids = itertools.count(1)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json()
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        async with http.ws_connect(ws_url, max_msg_size=0) as ws:
            pending: dict[int, asyncio.Future] = {}

            async def reader() -> None:
                async for msg in ws:
                    data = json.loads(msg.data)
                    if "id" in data and data["id"] in pending:
                        pending.pop(data["id"]).set_result(data)
                    elif data.get("method") == "Runtime.consoleAPICalled":
                        p = data["params"]
                        text = " ".join(str(a.get("value", a.get("description", "")))
                                        for a in p["args"])
                        run.console.append(("error" if p["type"] in ("error", "assert")
                                            else p["type"], text))
                    elif data.get("method") == "Runtime.exceptionThrown":
                        d = data["params"]["exceptionDetails"]
                        run.console.append(("error", d.get("exception", {}).get(
                            "description", d.get("text", ""))))
                    elif data.get("method") == "Log.entryAdded":
                        e = data["params"]["entry"]
                        run.console.append((e["level"], f"{e.get('url', '')}: {e['text']}"))

            async def call(method: str, **params: Any) -> dict[str, Any]:
                n = next(ids)
                pending[n] = asyncio.get_running_loop().create_future()
                await ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
                reply = await asyncio.wait_for(pending[n], timeout)
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

            task = asyncio.create_task(reader())
            for domain in ("Runtime", "Log", "Page"):
                await call(f"{domain}.enable")
            if init_script:
                await call("Page.addScriptToEvaluateOnNewDocument", source=init_script)
            start = time.perf_counter()
            await call("Page.navigate", url=url)
            try:
                await _wait_for(call, "typeof window.stadtzeit === 'object'", timeout)
            except TimeoutError as exc:
                raise TimeoutError(f"{exc}; console: {run.console[-10:]}") from None
            ready = await call("Runtime.evaluate", expression="window.stadtzeit.ready",
                               awaitPromise=True, returnByValue=True)
            run.ready_seconds = time.perf_counter() - start
            if "exceptionDetails" in ready:
                run.console.append(("error", str(ready["exceptionDetails"])))
            settled = await call("Runtime.evaluate", expression="window.stadtzeit.drawn()",
                                 awaitPromise=True, returnByValue=True)
            run.settled_seconds = time.perf_counter() - start
            if "exceptionDetails" in settled:
                run.console.append(("error", str(settled["exceptionDetails"])))
            await asyncio.sleep(1.0)  # a few more frames with every tile drawn
            for name, expr in evaluate.items():
                r = await call("Runtime.evaluate", expression=expr, returnByValue=True,
                               awaitPromise=True)
                run.results[name] = r["result"].get("value")
            shot = await call("Page.captureScreenshot", format="png")
            run.screenshot = base64.b64decode(shot["data"])
            task.cancel()
    return run


async def _wait_for(call, expression: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await call("Runtime.evaluate", expression=expression, returnByValue=True)
        if r["result"].get("value") is True:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"page never satisfied {expression}")
