"""Print, as JSON, what Qt answers through ICU: collation, legacy encodings, case mapping, time zones.

Run it with the wheel's ICU data and with the trimmed one (``LD_PRELOAD=.../libicudata.so.73``:
the loader then takes the preloaded library for that soname) and compare; see
tests/packaging/test_icu_data.py.
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import QCollator, QLocale, QStringConverter, QStringDecoder, QTimeZone

WORDS = ["zebra", "Äpfel", "apple", "Zürich", "öl", "ost", "Ångström", "ängel", "ch", "cz", "i", "ı", "İ"]
LOCALES = ["en_US", "de_DE", "sv_SE", "cs_CZ", "tr_TR", "ja_JP", "zh_CN", "fr_FR"]
CODECS = ["Shift_JIS", "EUC-JP", "GB18030", "Big5", "EUC-KR", "KOI8-R", "windows-1252", "ISO-8859-7", "IBM037"]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Adelaide"]


def probe() -> dict[str, object]:
    out: dict[str, object] = {}
    for name in LOCALES:
        collator = QCollator(QLocale(name))
        out[f"sort {name}"] = sorted(WORDS, key=collator.sortKey)  # type: ignore[arg-type]
        out[f"upper {name}"] = QLocale(name).toUpper("istanbul ß")
    for codec in CODECS:  # PySide6 exposes no encode/decode call: whether ICU opens the converter
        decoder = QStringDecoder(codec)
        out[f"codec {codec}"] = [decoder.isValid(), decoder.name()]
    out["codecs available"] = len(QStringConverter.availableCodecs())
    for zone in ZONES:
        tz = QTimeZone(zone.encode())
        out[f"zone {zone}"] = [
            tz.isValid(),
            tz.displayName(QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, QLocale("en_US")),
            tz.displayName(QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, QLocale("de_DE")),
        ]
    return out


if __name__ == "__main__":
    json.dump(probe(), sys.stdout, ensure_ascii=False, indent=1)
