"""Where a published page's first view goes: a Chrome trace from navigation to the first frame
with tiles (issue 15, docs/PERFORMANCE.md "The page").

    .venv/bin/python benchmarks/page_trace.py FOLDER [--page index.html] [--out trace.json]

Opens FOLDER's page in headless Chromium (SwiftShader, as tests/chromium_page.py does), records
a DevTools trace (GPU process, ANGLE, renderer main thread) until benchmarks/page_probe.js
reports the first frame with tiles, and prints the timeline of what blocks the main thread:
animation frames (CesiumJS's render), script evaluation, the GPU process's readbacks (with no
GPU, Chromium composites in software and reads each WebGL frame back, waiting for SwiftShader
to execute it) and ANGLE's pipeline compilation. The trace itself opens in chrome://tracing or
ui.perfetto.dev.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CATEGORIES = ["toplevel", "gpu", "gpu.angle", "disabled-by-default-gpu.angle", "gpu.service",
              "disabled-by-default-gpu.service", "blink", "devtools.timeline", "v8.execute"]
SHOWN = {"FireAnimationFrame", "EvaluateScript", "ImageHelper::readPixelsImpl - CPU Readback",
         "ProgramExecutableVk::warmUpGraphicsPipelineCache"}


async def _trace(port: int, url: str, timeout: float) -> tuple[list[dict], int]:
    import aiohttp
    ids = itertools.count(1)
    events: list[dict] = []
    complete = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/version") as r:
            browser_ws = (await r.json())["webSocketDebuggerUrl"]
        async with http.get(f"http://127.0.0.1:{port}/json/list") as r:
            page_ws = next(t["webSocketDebuggerUrl"] for t in await r.json()
                           if t["type"] == "page")
        async with http.ws_connect(browser_ws, max_msg_size=0) as bws, \
                http.ws_connect(page_ws, max_msg_size=0) as pws:
            pending: dict[int, asyncio.Future] = {}

            async def reader(ws) -> None:
                async for msg in ws:
                    d = json.loads(msg.data)
                    if "id" in d and d["id"] in pending:
                        pending.pop(d["id"]).set_result(d)
                    elif d.get("method") == "Tracing.dataCollected":
                        events.extend(d["params"]["value"])
                    elif d.get("method") == "Tracing.tracingComplete":
                        complete.set()

            readers = [asyncio.create_task(reader(bws)), asyncio.create_task(reader(pws))]

            async def call(ws, method: str, **params) -> dict:
                n = next(ids)
                pending[n] = asyncio.get_running_loop().create_future()
                await ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
                return (await asyncio.wait_for(pending[n], timeout)).get("result", {})

            await call(bws, "Tracing.start", traceConfig={"includedCategories": CATEGORIES},
                       transferMode="ReportEvents")
            await call(pws, "Page.enable")
            await call(pws, "Page.addScriptToEvaluateOnNewDocument",
                       source=(ROOT / "benchmarks" / "page_probe.js").read_text())
            await call(pws, "Page.navigate", url=url)
            deadline = asyncio.get_running_loop().time() + timeout
            first = 0
            while not first and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.2)
                r = await call(pws, "Runtime.evaluate", returnByValue=True,
                               expression="(window.__probe && window.__probe.firstDrawn) || 0")
                first = r["result"].get("value") or 0
            await asyncio.sleep(0.5)
            await call(bws, "Tracing.end")
            await asyncio.wait_for(complete.wait(), timeout)
            for task in readers:
                task.cancel()
    return events, first


def main() -> None:
    from chromium_page import browser
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--page", default="index.html")
    ap.add_argument("--out", type=Path, help="write the raw trace (JSON events) here")
    ap.add_argument("--min-ms", type=float, default=20.0, help="hide shorter events")
    args = ap.parse_args()
    with browser(args.folder) as (port, base, _):
        events, first = asyncio.run(_trace(port, f"{base}/{args.page}", timeout=300))
    if args.out:
        args.out.write_text(json.dumps(events))
    process = {e["pid"]: e["args"]["name"] for e in events
               if e.get("ph") == "M" and e["name"] == "process_name"}
    base = min(e["ts"] for e in events if e.get("ts", 0) > 0)
    waited = 0.0
    print(f"first frame with tiles: {first} ms after navigation (probe)")
    print("   start ms   dur ms  process      event")
    for e in sorted((e for e in events if e.get("name") in SHOWN and "dur" in e),
                    key=lambda e: e["ts"]):
        if e["name"].startswith("ImageHelper::readPixels"):
            waited += e["dur"] / 1000
        if e["dur"] / 1000 >= args.min_ms:
            print(f"{(e['ts'] - base) / 1000:10.0f} {e['dur'] / 1000:8.0f}  "
                  f"{process.get(e['pid'], '?')[:11]:11s}  {e['name']}")
    print(f"GPU process readbacks (the main thread waiting for SwiftShader), whole trace: "
          f"{waited:.0f} ms")


if __name__ == "__main__":
    main()
