"""Videos: a turntable (one orbit around the site) and an epoch transition (a crossfade
through every epoch, dates as captions), as MP4 (H.264 through PyAV's bundled FFmpeg) or GIF.

Frames come from the offscreen renderer; the crossfade blends rendered images of each epoch
from one camera (exact, and no transparency sorting artefacts). The licence and attribution
are burnt into every frame and written into the MP4's metadata.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from viewer.export.files import atomic_file
from viewer.export.images import caption, label, to_image
from viewer.export.source import ExportError, ExportSource, Provenance
from viewer.export.still import Progress, caption_lines, checked_size, no_progress
from viewer.model.scene import Cancelled
from viewer.model.state import Camera
from viewer.render.offscreen import OffscreenRenderer

FORMATS = (".mp4", ".gif")
GIF_MAX_WIDTH = 640          # GIFs are for slides and web pages: small, 15 fps
GIF_FPS = 15


@dataclass
class Video:
    path: Path
    size: tuple[int, int]
    fps: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps


class _Mp4:
    """H.264 in MP4, yuv420p (plays everywhere), metadata in the container."""

    def __init__(self, path: Path, size: tuple[int, int], fps: int, meta: dict[str, str]):
        import av

        if size[0] % 2 or size[1] % 2:
            raise ExportError(f"--size {size[0]}x{size[1]}: H.264 needs an even width and "
                              f"height")
        self.container = av.open(str(path), mode="w", format="mp4")
        for key in ("title", "artist", "copyright", "comment", "description"):
            if key in meta:
                self.container.metadata[key] = meta[key]
        self.stream = self.container.add_stream("libx264", rate=fps)
        self.stream.width, self.stream.height = size
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": "20", "preset": "veryfast"}
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[..., :3]), format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


class _Gif:
    """An animated GIF (Pillow), looping, at up to GIF_MAX_WIDTH pixels and GIF_FPS."""

    def __init__(self, path: Path, size: tuple[int, int], fps: int, meta: dict[str, str]):
        self.path, self.fps, self.meta = path, fps, meta
        self.step = max(1, round(fps / GIF_FPS))
        scale = min(1.0, GIF_MAX_WIDTH / size[0])
        self.size = (round(size[0] * scale), round(size[1] * scale))
        self.images: list[Image.Image] = []
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        if self.frames % self.step == 0:
            img = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
            self.images.append(img.resize(self.size, Image.Resampling.LANCZOS)
                               .quantize(colors=255, method=Image.Quantize.MEDIANCUT))
        self.frames += 1

    def close(self) -> None:
        frame_ms = round(1000 * self.step / self.fps)
        self.images[0].save(self.path, format="GIF", save_all=True,
                            append_images=self.images[1:], duration=frame_ms, loop=0,
                            comment=self.meta.get("comment", "").encode("utf-8")[:250])


def _meta(prov: Provenance) -> dict[str, str]:
    d = prov.as_dict()
    return {"title": d["Title"], "artist": d["Attribution"], "copyright": d["Copyright"],
            "comment": f"{d['Copyright']}; {d['ArchiveVersion']}; CRS {d['CRS']}"
                       + (f"; {d['LicenceWarning']}" if "LicenceWarning" in d else ""),
            "description": f"{d['SiteName']} — {d['Epochs']} — {d['ArchiveVersion']}"}


def _write(out: Path, frames: Iterator[np.ndarray], size: tuple[int, int], fps: int,
           prov: Provenance, total: int, progress: Progress) -> Video:
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"--out {out}: a video must end in .mp4 or .gif")
    if not 1 <= fps <= 60:
        raise ExportError(f"--fps {fps}: choose 1 to 60 frames per second")
    with atomic_file(Path(out)) as tmp:
        writer = (_Mp4 if suffix == ".mp4" else _Gif)(tmp, size, fps, _meta(prov))
        try:
            for i, frame in enumerate(frames):
                writer.write(frame)
                progress((i + 1) / total, f"frame {i + 1} of {total}")
        finally:
            if writer.frames:
                writer.close()
    return Video(Path(out), size if suffix == ".mp4" else writer.size, fps, total)


def _dressed(source: ExportSource, img: np.ndarray, epochs: list[str],
             date_label: str | None = None) -> np.ndarray:
    pic = to_image(img)
    if date_label:
        pic = label(pic, date_label, "top-left")
    pic = caption(pic, caption_lines(source, epochs, source.language),
                  source.licence.warning(source.language))
    return np.asarray(pic.convert("RGB"))


def export_turntable(source: ExportSource, out: Path, epoch: str | None = None,
                     size: tuple[int, int] = (1920, 1080), fps: int = 30,
                     seconds: float = 10.0, camera: Camera | None = None,
                     viewpoint: str | None = None, preset: str | None = None, lod: int = 0,
                     antialias: str | None = None,
                     progress: Progress = no_progress) -> Video:
    """One full orbit about the vertical axis through the camera's focal point."""
    size = checked_size(*size)
    epoch = source.epoch(epoch)
    if not 0.5 <= seconds <= 600:
        raise ExportError(f"--seconds {seconds}: choose 0.5 to 600 seconds")
    cam = source.camera(viewpoint, preset, camera, epoch)
    total = max(2, round(seconds * fps))

    def frames() -> Iterator[np.ndarray]:
        with OffscreenRenderer(size, antialias=antialias) as r:
            r.set_scene(source.scene(epoch, lod))
            for i in range(total):
                yield _dressed(source, r.render(cam.orbit(360.0 * i / total)), [epoch], epoch)

    return _write(out, frames(), size, fps, source.provenance(epoch), total, progress)


def export_transition(source: ExportSource, out: Path, epochs: list[str] | None = None,
                      size: tuple[int, int] = (1920, 1080), fps: int = 30,
                      hold: float = 2.0, fade: float = 1.5, camera: Camera | None = None,
                      viewpoint: str | None = None, preset: str | None = None, lod: int = 0,
                      antialias: str | None = "ssaa",
                      progress: Progress = no_progress) -> Video:
    """Each epoch held for `hold` seconds, with a `fade`-second crossfade to the next."""
    size = checked_size(*size)
    ids = [source.epoch(e) for e in (epochs or source.site.epoch_ids)]
    if len(ids) < 2:
        raise ExportError(f"{source.site.id}: an epoch transition needs two epochs or more")
    cam = source.camera(viewpoint, preset, camera, ids[-1])
    n_hold, n_fade = max(1, round(hold * fps)), max(1, round(fade * fps))
    total = n_hold * len(ids) + n_fade * (len(ids) - 1)
    images: list[np.ndarray] = []
    with OffscreenRenderer(size, antialias=antialias) as r:
        for i, e in enumerate(ids):
            progress(0.3 * i / len(ids), f"rendering {e}")
            r.set_scene(source.scene(e, lod))
            images.append(r.render(cam).astype(np.float32))

    def frames() -> Iterator[np.ndarray]:
        for i, e in enumerate(ids):
            still = _dressed(source, images[i].astype(np.uint8), ids, e)
            for _ in range(n_hold):
                yield still
            if i + 1 < len(ids):
                for k in range(1, n_fade + 1):
                    t = 0.5 - 0.5 * math.cos(math.pi * k / (n_fade + 1))   # ease in and out
                    mix = images[i] * (1 - t) + images[i + 1] * t
                    now = e if t < 0.5 else ids[i + 1]
                    yield _dressed(source, (mix + 0.5).astype(np.uint8), ids, now)

    return _write(out, frames(), size, fps, source.provenance(*ids), total,
                  lambda f, w: progress(0.3 + 0.7 * f, w))


__all__ = ["Cancelled", "Video", "export_transition", "export_turntable"]
