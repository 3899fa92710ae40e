"""Site information: description, every epoch's capture metadata and provenance summary."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from viewer.model.state import ViewerModel


class InfoPanel(QWidget):
    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.browser)
        self._html = ""
        for signal in (model.events.site, model.events.epoch, model.events.language):
            signal.connect(self.refresh)
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.refresh()
        super().changeEvent(event)

    def _capture_name(self, capture: str) -> str:
        names = {"airborne-lidar": self.tr("airborne LiDAR"),
                 "terrestrial-lidar": self.tr("terrestrial LiDAR"),
                 "mobile-lidar": self.tr("mobile LiDAR"),
                 "photogrammetry": self.tr("photogrammetry")}
        return names.get(capture, capture)

    def _provenance_label(self, key: str) -> str:
        labels = {"sources": self.tr("Sources"), "preset": self.tr("Preset"),
                  "registration": self.tr("Registration"), "points": self.tr("Points"),
                  "software": self.tr("Software"), "events": self.tr("Events"),
                  "processed": self.tr("Processed"), "provenance": self.tr("Provenance")}
        return labels.get(key, key)

    def html(self) -> str:
        m, site = self.model, self.model.site
        if site is None:
            return "<p>" + escape(self.tr("Choose a site from the list.")) + "</p>"
        lang = m.language
        o = site.origin
        crs_label, origin_label = self.tr("Coordinate system"), self.tr("Origin")
        version_label, epochs_label = self.tr("Archive version"), self.tr("Epochs")
        parts = [f"<h2>{escape(site.name.get(lang))}</h2>",
                 f"<p>{escape(site.description.get(lang))}</p>",
                 f"<p><b>{escape(crs_label)}:</b> {escape(site.crs)}<br>"
                 f"<b>{escape(origin_label)}:</b> E {o[0]:.3f} N {o[1]:.3f} H {o[2]:.3f}"
                 f"<br><b>{escape(version_label)}:</b> v{site.version or '?'}</p>",
                 f"<h3>{escape(epochs_label)}</h3>"]
        shown = self.tr("shown")
        for e in reversed(site.epochs):
            current = e.id == m.epoch
            head = escape(e.date.isoformat() if e.date else e.id)
            style = ' style="background-color:#fff3c4"' if current else ""
            rows = [(self.tr("Capture"), self._capture_name(e.capture)),
                    (self.tr("Sensor"), e.sensor), (self.tr("Operator"), e.operator)]
            if e.face_counts:
                rows.append((self.tr("Meshes"), ", ".join(
                    f"LOD{k}: {n:,}".replace(",", "\u202f") if n >= 0 else f"LOD{k}: "
                    + self.tr("damaged") for k, n in sorted(e.face_counts.items()))
                    + " " + self.tr("triangles")))
            rows += [(self._provenance_label(k), v) for k, v in e.provenance.items()]
            body = "".join(f"<tr><td><i>{escape(k)}</i></td><td>{escape(v)}</td></tr>"
                           for k, v in rows if v)
            marker = f" ({escape(shown)})" if current else ""
            parts.append(f"<div{style}><b>{head}</b>{marker}<table>{body}</table></div>")
        annotations = m.visible_annotations()
        if annotations:
            parts.append("<h3>" + escape(self.tr("Points of interest")) + "</h3><ul>")
            parts += [f"<li>{escape(a.title.get(lang))}</li>" for a in annotations]
            parts.append("</ul>")
        return "".join(parts)

    def refresh(self) -> None:
        # synchronous, so that one user action makes one repaint (each is a full GL
        # composition of the window on llvmpipe); unchanged HTML is not laid out again
        html = self.html()
        if html != self._html:
            self._html = html
            self.browser.setHtml(html)
