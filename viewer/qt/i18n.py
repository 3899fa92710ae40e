"""German and English through Qt's own translation mechanism.

Source strings are English (`self.tr(...)`, `QCoreApplication.translate(...)`); German comes from
`i18n/stadtzeit_de.qm`, compiled from `stadtzeit_de.ts` with pyside6-lrelease. To add strings:

    .venv/bin/pyside6-lupdate viewer/{qt,desktop,kiosk}/*.py -ts viewer/qt/i18n/stadtzeit_de.ts
    (translate in Qt Linguist or the .ts XML)
    .venv/bin/pyside6-lrelease viewer/qt/i18n/stadtzeit_de.ts -qm viewer/qt/i18n/stadtzeit_de.qm

Switching at run time installs or removes the translator; Qt then sends every widget a
LanguageChange event and each widget re-reads its strings in `retranslate()`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from viewer.model.state import LANGUAGES

TRANSLATIONS = Path(__file__).with_name("i18n")


def system_language() -> str:
    """'de' when the system locale is German, else 'en'."""
    return "de" if QLocale.system().language() == QLocale.Language.German else "en"


def tr(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


class Translations:
    """Installs the translators for one language at a time.

    Translators are global to the QApplication, so the installed ones are shared by every
    instance: a second window switching language replaces the first one's catalogs.
    """

    _installed: list[QTranslator] = []

    def __init__(self) -> None:
        self.language = "en"

    def set_language(self, language: str) -> bool:
        """Install `language`'s catalogs; False when the German catalog is missing."""
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}")
        app = QCoreApplication.instance()
        installed = Translations._installed
        for t in installed:
            app.removeTranslator(t)
        installed.clear()
        self.language = language
        ok = language == "en" or self._install(app, language)
        # Qt announces a new translator only while app.exec() runs, and then by posting events;
        # telling every window now makes the switch immediate and independent of the loop
        for window in QApplication.topLevelWidgets():
            if window.isVisible():
                QCoreApplication.sendEvent(window, QEvent(QEvent.Type.LanguageChange))
        return ok

    @staticmethod
    def _install(app: QCoreApplication, language: str) -> bool:
        installed = Translations._installed
        ours = QTranslator()
        ok = ours.load(str(TRANSLATIONS / f"stadtzeit_{language}.qm"))
        if ok:
            app.installTranslator(ours)
            installed.append(ours)
        qt = QTranslator()  # Qt's own strings (standard buttons in dialogs)
        if qt.load(f"qt_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(qt)
            installed.append(qt)
        return ok
