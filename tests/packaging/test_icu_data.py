"""The trimmed ICU data library (packaging/icu_data.py) answers Qt as the wheel's full one does.

The real wheel library is cut down and assembled with binutils, then Qt's ICU-backed calls
(packaging/icu_probe.py: collation in 8 locales, converters, case mapping, time zones) run once
with the wheel's library and once with the trimmed one preloaded, in separate processes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging"))
import icu_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the wheel ships ICU on Linux only")


def wheel_icudata() -> Path:
    spec = importlib.util.find_spec("PySide6")
    assert spec and spec.origin
    found = sorted((Path(spec.origin).parent / "Qt" / "lib").glob("libicudata.so.*"))
    if not found:
        pytest.skip("this PySide6 wheel has no bundled ICU")
    return found[0]


def probe(preload: Path | None = None) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    if preload:
        env["LD_PRELOAD"] = str(preload)
    out = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "icu_probe.py")], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_item_selection():
    keep = icu_data.keep_item
    assert keep("coll/sv.res") and keep("coll/ucadata.icu") and keep("ibm-1252_P100-2000.cnv", 2_000)
    assert not keep("ibm-943_P15A-2003.cnv", 100_000)
    assert keep("cnvalias.icu") and keep("zoneinfo64.res") and keep("likelySubtags.res") and keep("nfkc.nrm")
    assert keep("root.res") and keep("en.res") and keep("en_GB.res") and keep("zone/en.res") and keep("pool.res")
    assert keep("brkitr/line.brk") and not keep("brkitr/cjdict.dict")
    assert not keep("de.res") and not keep("zh_Hant_TW.res") and not keep("zone/de.res") and not keep("lang/fr.res")
    assert keep("translit/root.res") and keep("zone/tzdbNames.res")  # every tree keeps its root


@pytest.mark.skipif(not (shutil.which("as") and shutil.which("ld")), reason="needs binutils (as, ld)")
def test_trimmed_library_answers_qt_like_the_full_one(tmp_path):
    full = wheel_icudata()
    small = icu_data.build_library(full, tmp_path)

    assert small.name == full.name
    assert small.stat().st_size < 10_000_000 < 30_000_000 < full.stat().st_size
    sym, dat = icu_data.read_package(small)
    assert sym == icu_data.read_package(full)[0]
    assert dat[12:16] == b"CmnD"
    dynamic = subprocess.run(["readelf", "-d", str(small)], capture_output=True, text=True, check=True).stdout
    assert f"Library soname: [{full.name}]" in dynamic

    before, after = probe(), probe(small)
    assert before.keys() == after.keys()
    changed = {k for k in before if before[k] != after[k]}
    multi_byte = {f"codec {c}" for c in ("Shift_JIS", "EUC-JP", "GB18030", "Big5", "EUC-KR")}
    # Only time-zone names in languages other than English and the multi-byte converters differ.
    assert changed == {k for k in before if k.startswith("zone ")} | multi_byte | {"codecs available"}, changed
    for k in before:
        if k.startswith("zone "):  # valid, same English name; index 2 (German) falls back to English
            assert before[k][:2] == after[k][:2] and after[k][2] == after[k][1]
    assert before["sort sv_SE"][-4:] == ["Ångström", "ängel", "Äpfel", "öl"]  # the probe sees locale rules
    assert before["upper tr_TR"].startswith("İ")
    assert all(before[k][0] and not after[k][0] for k in multi_byte)
    assert all(after[f"codec {c}"] == [True, c] for c in ("windows-1252", "KOI8-R", "ISO-8859-7", "IBM037"))
    assert before["codecs available"] > after["codecs available"] > 150
