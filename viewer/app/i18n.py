"""German and English through Qt's own translation mechanism.

Source strings are English (`self.tr(...)`, `QCoreApplication.translate(...)`); German comes from
`i18n/stadtzeit_de.qm`, compiled from `stadtzeit_de.ts` with pyside6-lrelease. To add strings:

    .venv/bin/pyside6-lupdate viewer/app/*.py -ts viewer/app/i18n/stadtzeit_de.ts
    (translate in Qt Linguist or the .ts XML)
    .venv/bin/pyside6-lrelease viewer/app/i18n/stadtzeit_de.ts -qm viewer/app/i18n/stadtzeit_de.qm

Switching at run time installs or removes the translator; Qt then sends every widget a
LanguageChange event and each widget re-reads its strings in `retranslate()`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from viewer.app.model import LANGUAGES

TRANSLATIONS = Path(__file__).with_name("i18n")


def system_language() -> str:
    """'de' when the system locale is German, else 'en'."""
    return "de" if QLocale.system().language() == QLocale.Language.German else "en"


def tr(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


class Translations:
    """Installs the translators for one language at a time."""

    def __init__(self) -> None:
        self.language = "en"
        self._installed: list[QTranslator] = []

    def set_language(self, language: str) -> bool:
        """Install `language`'s catalogs; False when the German catalog is missing."""
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}")
        app = QCoreApplication.instance()
        for t in self._installed:
            app.removeTranslator(t)
        self._installed = []
        self.language = language
        if language == "en":
            return True
        ours = QTranslator()
        ok = ours.load(str(TRANSLATIONS / f"stadtzeit_{language}.qm"))
        if ok:
            app.installTranslator(ours)
            self._installed.append(ours)
        qt = QTranslator()  # Qt's own strings (standard buttons in dialogs)
        if qt.load(f"qt_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(qt)
            self._installed.append(qt)
        return ok
