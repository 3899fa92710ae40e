"""Site information: description, every epoch's capture metadata and provenance summary."""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any

from PySide6.QtCore import QDate, QDateTime, QEvent, QLocale, QTimeZone
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from viewer.model.change_display import format_length, format_number
from viewer.model.state import ViewerModel


def _number(reg: dict[str, Any], *keys: str) -> float | None:
    for k in keys:
        v = reg.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None


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

    def _preset_name(self, preset: str) -> str:
        names = {"als": self.tr("airborne LiDAR (als)"), "tls": self.tr("terrestrial LiDAR (tls)"),
                 "mls": self.tr("mobile LiDAR (mls)"), "photogrammetry": self.tr("photogrammetry")}
        return names.get(preset, preset)

    def _method_name(self, method: str) -> str:
        names = {"icp-point-to-plane": self.tr("ICP, point to plane"),
                 "icp-point-to-point": self.tr("ICP, point to point"), "icp": self.tr("ICP")}
        return names.get(method, method)

    def _provenance_label(self, key: str) -> str:
        labels = {"sources": self.tr("Sources"), "preset": self.tr("Preset"),
                  "registration": self.tr("Registration"), "points": self.tr("Points"),
                  "software": self.tr("Software"), "events": self.tr("Events"),
                  "processed": self.tr("Processed"), "provenance": self.tr("Provenance")}
        return labels.get(key, key)

    def _locale(self) -> QLocale:
        return QLocale(QLocale.Language.German if self.model.language == "de"
                       else QLocale.Language.English, QLocale.Country.AnyCountry)

    def human_date(self, value: date | str | None) -> str:
        """"15 June 2019" / "15. Juni 2019"; a timestamp gets its time (UTC) too."""
        if value is None or value == "":
            return ""
        loc = self._locale()
        day_format = "d. MMMM yyyy" if self.model.language == "de" else "d MMMM yyyy"
        if isinstance(value, date) and not isinstance(value, datetime):
            return loc.toString(QDate(value.year, value.month, value.day), day_format)
        try:
            when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
        qdt = QDateTime(QDate(when.year, when.month, when.day).startOfDay(QTimeZone.utc()))
        qdt = qdt.addSecs(when.hour * 3600 + when.minute * 60)
        return loc.toString(qdt, day_format + ", HH:mm") + " UTC"

    def registration_text(self, reg: dict[str, Any]) -> str:
        """What epoch.json says about the registration, whatever keys it has."""
        if not reg:
            return ""
        lang = self.model.language
        mode = str(reg.get("mode") or "")
        if reg.get("reference") is True or mode == "reference":
            return self.tr("reference epoch (the others are aligned to it)")
        parts = []
        ref = reg.get("reference")
        if isinstance(ref, str) and ref:
            parts.append(self.tr("aligned to %1").replace("%1", ref))
        if mode:
            parts.append(self.tr("mode: %1").replace("%1", mode))
        elif reg.get("method"):
            parts.append(self._method_name(str(reg["method"])))
        rms = _number(reg, "inlier_rmse", "rmse", "rms", "residual_rms", "rmse_m")
        if rms is not None:
            parts.append(self.tr("residual %1 (RMS)").replace(
                "%1", format_number(100 * rms, lang, 1) + " cm"))
        stable = _number(reg, "stable_share", "stable_fraction", "fitness")
        if stable is not None:
            key = "stable_share" if "stable_share" in reg or "stable_fraction" in reg \
                else "fitness"
            label = self.tr("stable share %1 %") if key == "stable_share" \
                else self.tr("overlap %1 %")
            parts.append(label.replace("%1", format_number(100 * stable, lang, 0)))
        residuals = reg.get("residuals")
        if isinstance(residuals, dict):
            for k, v in residuals.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    parts.append(f"{k} {format_length(float(v), lang)}")
        if reg.get("accepted_by_force") or reg.get("forced") or reg.get("force_warning"):
            warning = reg.get("force_warning")
            parts.append(self.tr("accepted by force (check it)") +
                         (f": {warning}" if isinstance(warning, str) else ""))
        return "; ".join(parts)

    def html(self) -> str:
        m, site = self.model, self.model.site
        if site is None:
            return "<p>" + escape(self.tr("Choose a site from the list.")) + "</p>"
        lang = m.language
        o = site.origin
        crs_label, origin_label = self.tr("Coordinate system"), self.tr("Origin")
        version_label, epochs_label = self.tr("Archive version"), self.tr("Epochs")
        other = self.tr("(only in English)") if lang == "de" else self.tr("(only in German)")

        def text(t) -> str:  # a manifest text, marked when it exists only in the other language
            return escape(t.get(lang)) + (f" <i>{escape(other)}</i>"
                                          if t.only_in_other(lang) else "")

        parts = [f"<h2>{text(site.name)}</h2>",
                 f"<p>{text(site.description)}</p>",
                 f"<p><b>{escape(crs_label)}:</b> {escape(site.crs)}<br>"
                 f"<b>{escape(origin_label)}:</b> E {format_number(o[0], lang, 3)} "
                 f"N {format_number(o[1], lang, 3)} H {format_number(o[2], lang, 3)}"
                 f"<br><b>{escape(version_label)}:</b> v{site.version or '?'}</p>",
                 f"<h3>{escape(epochs_label)}</h3>"]
        shown = self.tr("shown")
        for e in reversed(site.epochs):
            current = e.id == m.epoch
            head = escape(self.human_date(e.date) if e.date else e.id)
            style = ' style="background-color:#fff3c4"' if current else ""
            rows = [(self.tr("Capture"), self._capture_name(e.capture)),
                    (self.tr("Sensor"), e.sensor), (self.tr("Operator"), e.operator)]
            if e.face_counts:
                rows.append((self.tr("Meshes"), ", ".join(
                    f"LOD{k}: {n:,}".replace(",", "\u202f") if n >= 0 else f"LOD{k}: "
                    + self.tr("damaged") for k, n in sorted(e.face_counts.items()))
                    + " " + self.tr("triangles")))
            shown_value = {"processed": self.human_date, "preset": self._preset_name}
            rows += [(self._provenance_label(k), shown_value.get(k, str)(v))
                     for k, v in e.provenance.items()]
            rows.append((self.tr("Registration"), self.registration_text(e.registration)))
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
