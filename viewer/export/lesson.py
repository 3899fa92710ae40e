"""A lesson pack: one folder (and a ZIP of it) per site with everything a class needs.

stills/, before-after/, video/, models/ (GLB per epoch, a print STL, the newest points as LAZ),
index.html (offline: the model turnable in the browser through the <model-viewer> bundle vendored
into this package, the site's text in DE and EN, its epochs and what changed in plain words),
worksheet.html (+ worksheet.pdf when Chromium is installed) and LICENCE.txt / ATTRIBUTION.txt in
TASL form. Pages are plain HTML; no internet is needed to open them.
"""

from __future__ import annotations

import base64
import html
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from viewer.export.before_after import default_pair, export_before_after
from viewer.export.files import atomic_dir, atomic_file
from viewer.export.model import export_glb, export_laz, tasl_text
from viewer.export.print3d import build_print_model, export_print
from viewer.export.source import ExportError, ExportSource
from viewer.export.still import Progress, checked_size, export_still, no_progress
from viewer.export.video import export_transition, export_turntable
from viewer.model.change_display import (
    format_area,
    format_number,
    format_volume,
    region_caption,
)

PRINT_SCALES = (200, 250, 500, 1000, 1500, 2000, 2500, 5000, 10000, 20000, 50000)
WEB_LOD = 1                     # the browser model: a quarter of the faces, quick to open


@dataclass
class LessonOptions:
    still_size: tuple[int, int] = (1920, 1080)
    pair_size: tuple[int, int] = (1200, 900)
    video_size: tuple[int, int] = (1920, 1080)
    fps: int = 30
    seconds: float = 10.0
    video: bool = True
    print_model: bool = True
    print_scale: int | None = None          # default: the most detailed usual scale that fits
    points: bool = True
    pdf: bool = True


@dataclass
class Lesson:
    folder: Path
    zip: Path
    files: list[str] = field(default_factory=list)     # relative paths in the folder
    notes: list[str] = field(default_factory=list)


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def vendored_viewer() -> Path:
    path = Path(str(resources.files("viewer.export") / "vendor" / "model-viewer.min.js"))
    if not path.is_file():
        raise ExportError(f"the bundled model viewer is missing ({path}); reinstall stadtzeit "
                          f"or run `npm ci && npm run vendor` in js/")
    return path


def export_lesson(source: ExportSource, out: Path, options: LessonOptions | None = None,
                  progress: Progress = no_progress) -> Lesson:
    o = options or LessonOptions()
    for size in (o.still_size, o.pair_size, o.video_size):
        checked_size(*size)
    out = Path(out)
    if out.suffix:
        raise ExportError(f"--out {out}: a lesson pack is a folder (and a ZIP beside it); "
                          f"give a folder name without an extension")
    viewer_js = vendored_viewer()
    ids = source.site.epoch_ids
    lesson = Lesson(out, out.with_name(out.name + ".zip"))
    steps = 4 + len(ids) + (2 if o.video else 0) + (1 if o.print_model else 0)
    done = [0]

    def step(what: str) -> Progress:
        base = done[0] / steps
        done[0] += 1
        return lambda f, w: progress(base + f / steps, f"{what}: {w}")

    with atomic_dir(out) as tmp:
        for sub in ("stills", "before-after", "video", "models", "vendor"):
            (tmp / sub).mkdir()
        cam = source.camera()
        for e in ids:
            export_still(source, tmp / "stills" / f"{e}.png", o.still_size, epoch=e,
                         camera=cam, burn_caption=True, progress=step(f"still {e}"))
        pair = default_pair(source) if len(ids) > 1 else None
        if pair:
            ba = export_before_after(source, tmp / "before-after" / "x", *pair,
                                     size=o.pair_size, camera=cam,
                                     progress=step("before/after"))
            for p in (tmp / "before-after" / "x").iterdir():
                p.rename(tmp / "before-after" / p.name)
            (tmp / "before-after" / "x").rmdir()
            if ba.note:
                lesson.notes.append(ba.note)
        if o.video:
            export_turntable(source, tmp / "video" / "turntable.mp4", size=o.video_size,
                             fps=o.fps, seconds=o.seconds, progress=step("turntable"))
            if len(ids) > 1:
                export_transition(source, tmp / "video" / "epochs.mp4", size=o.video_size,
                                  fps=o.fps, camera=cam, progress=step("epoch transition"))
        for e in ids:
            export_glb(source, tmp / "models" / f"{e}.glb", e, lod=_web_lod(source, e))
        (tmp / "models" / "model-data.js").write_text(_model_data(tmp / "models", ids),
                                                      encoding="utf-8")
        if o.points:
            try:
                export_laz(source, tmp / "models" / f"{ids[-1]}-points.laz", ids[-1])
            except ExportError as exc:
                lesson.notes.append(str(exc))
        scale = None
        if o.print_model:
            scale = o.print_scale or print_scale(source, ids[-1])
            if scale is None:
                lesson.notes.append("no print model: the site cannot be made printable at any "
                                    "usual scale")
            else:
                export_print(source, tmp / "models" / f"{ids[-1]}-1to{scale}.stl", ids[-1],
                             scale=scale, progress=step("print model"))
        shutil.copyfile(viewer_js, tmp / "vendor" / "model-viewer.min.js")
        shutil.copyfile(viewer_js.with_name("model-viewer.LICENSE.txt"),
                        tmp / "vendor" / "model-viewer.LICENSE.txt")
        progress(done[0] / steps, "writing the pages")
        (tmp / "LICENCE.txt").write_text(tasl_text(source, ids), encoding="utf-8")
        (tmp / "ATTRIBUTION.txt").write_text(attribution_text(source, ids), encoding="utf-8")
        (tmp / "index.html").write_text(index_html(source, tmp, ids, pair, scale),
                                        encoding="utf-8")
        (tmp / "worksheet.html").write_text(worksheet_html(source, tmp, ids, pair),
                                            encoding="utf-8")
        if o.pdf:
            note = print_pdf(tmp / "worksheet.html", tmp / "worksheet.pdf")
            if note:
                lesson.notes.append(note)
        lesson.files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        progress(0.97, "packing the ZIP")
        with atomic_file(lesson.zip) as ztmp:
            with zipfile.ZipFile(ztmp, "w", zipfile.ZIP_DEFLATED) as z:
                for rel in lesson.files:
                    z.write(tmp / rel, f"{out.name}/{rel}")
    progress(1.0, "done")
    return lesson


def _web_lod(source: ExportSource, epoch: str) -> int:
    lods = source.site.epoch(epoch).lods
    return WEB_LOD if WEB_LOD in lods else min(lods)


def print_scale(source: ExportSource, epoch: str, max_size_mm: float = 200.0) -> int | None:
    """The most detailed usual scale at which the site fits the printer and passes the
    checks (None when none does)."""
    mesh = source.mesh(epoch, 0)
    x0, x1, y0, y1, _, _ = mesh.bounds
    for scale in PRINT_SCALES:
        if max(x1 - x0, y1 - y0) * 1000 / scale > max_size_mm:
            continue
        try:
            build_print_model(mesh, scale, max_size_mm=max_size_mm)
            return scale
        except ExportError:
            continue
    return None


def _model_data(models: Path, ids: list[str]) -> str:
    """The GLBs as base64 in a script: browsers refuse fetch() from file:// pages, but a
    <script src> loads, and the page turns the data into blob: URLs for <model-viewer>."""
    parts = ["window.STADTZEIT_MODELS = {"]
    for e in ids:
        data = base64.b64encode((models / f"{e}.glb").read_bytes()).decode("ascii")
        parts.append(f'  "{e}": "{data}",')
    parts.append("};")
    return "\n".join(parts) + "\n"


def attribution_text(source: ExportSource, ids: list[str]) -> str:
    lic = source.licence
    line = f"{source.site.name.get('en')} — {lic.attribution} — {lic.licence} — {source.ref}"
    out = ["How to credit these files (copy this line under every picture you use):", "",
           line, "", "So nennen Sie die Quelle (unter jedes verwendete Bild):", "", line, ""]
    if lic.restricted:
        out += [lic.warning("en"), lic.warning("de"), ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- the pages

CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 0 auto; max-width: 60rem;
       padding: 1rem; color: #1b1f23; line-height: 1.45; }
h1 { margin-bottom: .2rem; } .sub { color: #555; margin-top: 0; }
.warning { background: #fff3cd; border: 2px solid #d39e00; padding: .7rem 1rem;
           font-weight: bold; }
model-viewer { width: 100%; height: 32rem; background: linear-gradient(#6b7f93, #1f2327); }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; }
img { max-width: 100%; } figure { margin: 1rem 0; } figcaption { font-size: .85rem; color: #444; }
table { border-collapse: collapse; } td, th { border: 1px solid #bbb; padding: .25rem .6rem; }
footer { margin-top: 2rem; font-size: .85rem; color: #444; border-top: 1px solid #bbb; }
"""

PRINT_CSS = """
@page { size: A4; margin: 15mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #000; font-size: 11pt; }
h1 { font-size: 18pt; margin: 0 0 4mm; } h2 { font-size: 13pt; margin: 6mm 0 2mm; }
img { width: 100%; } .pair { display: grid; grid-template-columns: 1fr; gap: 3mm; }
.q { margin: 4mm 0; break-inside: avoid; } .lines { border-bottom: 1px solid #777;
height: 8mm; } .page { break-after: page; }
.warning { border: 2px solid #000; padding: 2mm; font-weight: bold; }
footer { font-size: 8pt; margin-top: 6mm; border-top: 1px solid #000; }
@media screen { body { max-width: 50rem; margin: 1rem auto; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def change_sentences(source: ExportSource, a: str, b: str, language: str) -> list[str]:
    """What changed from a to b in plain words, from the stored change summary."""
    summary = source.summary(a, b)
    if not summary:
        return []
    vol = summary.get("volumes") or summary.get("volume") or {}
    out = []
    gained, lost = vol.get("gained"), vol.get("lost")
    if isinstance(gained, int | float) and isinstance(lost, int | float):
        if language == "de":
            out.append(f"Insgesamt kamen etwa {format_volume(abs(gained), 'de', False)} hinzu "
                       f"und etwa {format_volume(abs(lost), 'de', False)} wurden entfernt.")
        else:
            out.append(f"In all, about {format_volume(abs(gained), 'en', False)} were added and "
                       f"about {format_volume(abs(lost), 'en', False)} removed.")
    change = source.change(a, b)
    regions = sorted((r for r in (change.regions if change else []) if r.volume),
                     key=lambda r: -abs(r.volume or 0))[:5]
    for r in regions:
        where = f" ({format_area(r.area, language)})" if r.area else ""
        out.append(region_caption(r.volume, r.sign, a[:4], b[:4], None, language,
                                  partial=r.partial) + where)
    return out


def _epoch_rows(source: ExportSource, language: str) -> str:
    rows = []
    for e in source.site.epochs:
        rows.append(f"<tr><td>{_e(e.id)}</td><td>{_e(e.capture)}</td><td>{_e(e.sensor)}</td>"
                    f"<td>{_e(e.operator)}</td></tr>")
    head = (("Datum", "Aufnahme", "Sensor", "Von") if language == "de"
            else ("Date", "Capture", "Sensor", "By"))
    return ("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows)
            + "</table>")


def _changes_html(source: ExportSource, ids: list[str], language: str) -> str:
    parts = []
    pairs = [(c.a, c.b) for c in source.site.changes if c.a in ids and c.b in ids]
    for a, b in pairs:
        sentences = change_sentences(source, a, b, language)
        if sentences:
            parts.append(f"<h4>{_e(a)} → {_e(b)}</h4><ul>"
                         + "".join(f"<li>{_e(s)}</li>" for s in sentences) + "</ul>")
    if not parts:
        parts.append("<p>" + ("Für diesen Ort ist noch kein Vergleich gespeichert."
                              if language == "de" else
                              "No comparison is stored for this site yet.") + "</p>")
    return "".join(parts)


def index_html(source: ExportSource, folder: Path, ids: list[str],
               pair: tuple[str, str] | None, scale: int | None) -> str:
    s, lic = source.site, source.licence
    warning = (f'<p class="warning">{_e(lic.warning("de"))}<br>{_e(lic.warning("en"))}</p>'
               if lic.restricted else "")
    options = "".join(f'<option value="{_e(e)}"{" selected" if e == ids[-1] else ""}>{_e(e)}'
                      f"</option>" for e in ids)
    figures = "".join(
        f'<figure><img src="stills/{_e(e)}.png" alt="{_e(s.name.get("en"))} {_e(e)}">'
        f"<figcaption>{_e(e)} — © {_e(lic.attribution)}, {_e(lic.licence)}</figcaption>"
        f"</figure>" for e in ids)
    ba = ""
    if pair:
        ba = "".join(
            f'<figure><img src="before-after/{name}" alt="{_e(what)}"><figcaption>{_e(what)}'
            f"</figcaption></figure>"
            for name, what in (("before-after-pair.png", f"{pair[0]} | {pair[1]}"),
                               ("before-after-swipe.png", f"{pair[0]} ◀ ▶ {pair[1]}"),
                               ("before-after-change.png", "Change / Veränderung"))
            if (folder / "before-after" / name).exists())
    videos = "".join(
        f'<figure><video src="video/{name}" controls muted loop playsinline></video>'
        f"<figcaption>{_e(what)}</figcaption></figure>"
        for name, what in (("turntable.mp4", "Turntable / Rundflug"),
                           ("epochs.mp4", "Epochs / Zeitstufen"))
        if (folder / "video" / name).exists())
    downloads = "".join(f'<li><a href="{_e(rel)}">{_e(rel)}</a></li>'
                        for rel in sorted(str(p.relative_to(folder))
                                          for p in (folder / "models").iterdir()
                                          if p.suffix in (".glb", ".stl", ".laz")))
    print_note = (f"<p>STL: 1:{scale}, in millimetres, with a base plate.</p>" if scale else "")
    return f"""<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(s.name.get("de"))} / {_e(s.name.get("en"))} — stadtzeit</title>
<meta name="author" content="{_e(lic.attribution)}">
<meta name="copyright" content="{_e(lic.attribution)} — {_e(lic.licence)}">
<style>{CSS}</style>
<script src="vendor/model-viewer.min.js"></script>
<script src="models/model-data.js"></script>
</head>
<body data-model="loading" data-errors="">
{warning}
<h1>{_e(s.name.get("de"))} / {_e(s.name.get("en"))}</h1>
<p class="sub">{_e(lic.attribution)} · {_e(lic.licence)} · {_e(source.ref)} · {_e(s.crs)}</p>
<model-viewer id="model" camera-controls auto-rotate interaction-prompt="none"
  shadow-intensity="0.6" exposure="1.0" alt="3D model of {_e(s.name.get("en"))}"></model-viewer>
<p><label for="epoch">Epoche / Epoch:</label> <select id="epoch">{options}</select>
 — Ziehen zum Drehen, Mausrad zum Zoomen / drag to turn, wheel to zoom.</p>
<div class="cols">
<section lang="de"><h2>Über den Ort</h2><p>{_e(s.description.de)}</p>
<h3>Aufnahmen</h3>{_epoch_rows(source, "de")}
<h3>Was sich verändert hat</h3>{_changes_html(source, ids, "de")}</section>
<section lang="en"><h2>About the site</h2><p>{_e(s.description.en)}</p>
<h3>Captures</h3>{_epoch_rows(source, "en")}
<h3>What changed</h3>{_changes_html(source, ids, "en")}</section>
</div>
<h2>Bilder / Pictures</h2>{figures}{ba}
{('<h2>Videos</h2>' + videos) if videos else ''}
<h2>Modelle / Models</h2><ul>{downloads}</ul>{print_note}
<p><a href="worksheet.html">Arbeitsblatt / Worksheet</a></p>
<footer><pre>{_e(tasl_text(source, ids))}</pre>
3D viewer: &lt;model-viewer&gt; (Apache-2.0) with three.js (MIT), see vendor/.</footer>
<script>
(function () {{
  var errors = [];
  function fail(msg) {{
    errors.push(String(msg)); document.body.dataset.errors = errors.join(" | "); }}
  window.addEventListener("error", function (e) {{ fail(e.message); }});
  var mv = document.getElementById("model"), urls = {{}};
  function url(epoch) {{
    if (!urls[epoch]) {{
      var bin = atob(window.STADTZEIT_MODELS[epoch]), bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      urls[epoch] = URL.createObjectURL(new Blob([bytes], {{type: "model/gltf-binary"}}));
    }}
    return urls[epoch];
  }}
  mv.addEventListener("load", function () {{ document.body.dataset.model = "loaded"; }});
  mv.addEventListener("error", function (e) {{
    document.body.dataset.model = "error"; fail("model: " + (e.detail && e.detail.type)); }});
  var select = document.getElementById("epoch");
  select.addEventListener("change", function () {{ mv.src = url(select.value); }});
  if (!window.customElements || !customElements.get("model-viewer")) fail("no model-viewer");
  mv.src = url(select.value);
}})();
</script>
</body>
</html>
"""


def _questions(source: ExportSource, pair: tuple[str, str] | None, language: str) -> list[str]:
    a, b = pair or (source.site.epoch_ids[0], source.site.epoch_ids[-1])
    change = source.change(a, b) if pair else None
    biggest = max((r for r in (change.regions if change else []) if r.volume),
                  key=lambda r: abs(r.volume or 0), default=None)
    if language == "de":
        q = [f"Vergleiche die Bilder von {a} und {b}. Nenne drei Dinge, die sich verändert "
             f"haben.",
             "Was bedeuten auf der Veränderungskarte die roten und die blauen Flächen?",
             "Miss mit der Maßstabsleiste: Wie breit ist das größte Gebäude ungefähr?"]
        if biggest is not None:
            trucks = format_number(abs(biggest.volume) / 10, "de", 0)
            q.append(f"An einer Stelle wurden etwa {format_number(abs(biggest.volume), 'de', 0)}"
                     f" m³ {'aufgeschüttet oder gebaut' if biggest.sign > 0 else 'entfernt'}. "
                     f"Ein Lkw fasst etwa 10 m³. Wie viele Fahrten sind das? "
                     f"(Lösung: etwa {trucks})")
        q.append("Warum vermisst eine Stadt denselben Ort immer wieder? Nenne zwei Gründe.")
        return q
    q = [f"Compare the pictures from {a} and {b}. Name three things that changed.",
         "On the change map, what do the red and the blue areas mean?",
         "Use the scale bar: about how wide is the largest building?"]
    if biggest is not None:
        trucks = format_number(abs(biggest.volume) / 10, "en", 0)
        q.append(f"In one place about {format_number(abs(biggest.volume), 'en', 0)} m³ were "
                 f"{'added or built' if biggest.sign > 0 else 'removed'}. A lorry carries about "
                 f"10 m³. How many trips is that? (Answer: about {trucks})")
    q.append("Why does a city scan the same place again and again? Give two reasons.")
    return q


def worksheet_html(source: ExportSource, folder: Path, ids: list[str],
                   pair: tuple[str, str] | None) -> str:
    lang = source.language
    s, lic = source.site, source.licence
    title = ("Arbeitsblatt" if lang == "de" else "Worksheet") + f": {s.name.get(lang)}"
    imgs = []
    for name in ("before-after-pair.png", "before-after-change.png"):
        if pair and (folder / "before-after" / name).exists():
            imgs.append(f'<img src="before-after/{name}" alt="{name}">')
    if not imgs:
        imgs.append(f'<img src="stills/{_e(ids[-1])}.png" alt="{_e(ids[-1])}">')
    questions = "".join(f'<div class="q"><b>{i}.</b> {_e(q)}<div class="lines"></div>'
                        f'<div class="lines"></div></div>'
                        for i, q in enumerate(_questions(source, pair, lang), 1))
    warning = f'<p class="warning">{_e(lic.warning(lang))}</p>' if lic.restricted else ""
    name_line = "Name: ____________________   Datum: __________" if lang == "de" else \
        "Name: ____________________   Date: __________"
    return f"""<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><title>{_e(title)}</title><style>{PRINT_CSS}</style></head>
<body>
<div class="page">
<h1>{_e(title)}</h1><p>{_e(name_line)}</p>{warning}
<p>{_e(s.description.get(lang))}</p>
<div class="pair">{"".join(imgs)}</div>
</div>
<h2>{"Fragen" if lang == "de" else "Questions"}</h2>
{questions}
<footer>{_e(tasl_text(source, ids)).replace(chr(10), "<br>")}</footer>
</body></html>
"""


def print_pdf(html_path: Path, pdf_path: Path, timeout: float = 120) -> str:
    """Print a page to PDF with headless Chromium; a note (not an error) when there is none."""
    exe = chromium()
    if exe is None:
        return "no worksheet.pdf: Chromium is not installed (worksheet.html prints as well)"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
           "--allow-file-access-from-files", f"--print-to-pdf={pdf_path}",
           html_path.resolve().as_uri()]
    try:
        subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no worksheet.pdf: Chromium failed ({exc})"
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        return "no worksheet.pdf: Chromium wrote nothing (worksheet.html prints as well)"
    return ""
