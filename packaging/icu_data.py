"""A smaller ICU data library for the Linux build: what Qt can reach from Switchboard, 32 -> 8.4 MB.

PySide6's Linux wheel ships ICU 73 and QtCore links it (``readelf -d libQt6Core.so.6``: NEEDED
libicui18n, libicuuc, libicudata), so ICU stays. But ``libicudata.so.73`` is 32 MB, one blob
(the symbol ``icudt73_dat``) holding ~3,900 items: collation, converters, time zones, and display
names of languages, regions, currencies and units in ~750 locales, spell-out rules, transliterators
and break-iterator dictionaries.

QtCore calls only these ICU functions (``readelf --dyn-syms libQt6Core.so.6``, undefined ``*_73``):
``ucol_*`` (QCollator, QString::localeAwareCompare), ``ucnv_*`` (QStringConverter for encodings Qt
does not implement itself), ``u_strToUpper/Lower`` (QLocale::toUpper/toLower; the case tables are
compiled into libicuuc, not the data) and ``ucal_*`` (QTimeZone's ICU backend: canonical IDs and
display names). So this keeps:

- every collation (``coll/``): sorting behaves exactly as before, whatever the user's locale;
- the converter aliases and every single-byte converter table (windows-125x, ISO-8859-x, KOI8,
  EBCDIC...), but not the 4.5 MB of multi-byte tables (Shift_JIS, EUC-JP/KR/TW, GB18030, Big5
  and IBM's CJK code pages, all over 64 KB). Qt only reaches them through ``QStringDecoder`` /
  ``QStringEncoder`` with such a name, which PySide6 does not even expose (no decode/encode
  call), and Switchboard never passes one; Qt's clipboard asks for UTF-8. Python's own codecs,
  which the gateway uses, are not ICU and are all still there;
- every non-locale item at the top level: time-zone rules and IDs, locale fallback tables,
  normalization, plural rules, ...;
- break-iterator rules (not the 3 MB of CJK/South-East Asian word dictionaries, which ICU treats
  as optional; Qt does not use ICU break iterators);
- the ``root`` and ``en*`` bundles (and each tree's ``pool.res`` and ``res_index.res``) of every
  other tree, so English is complete and every other locale falls back.

What is lost: time-zone display names in languages other than English (``QTimeZone::displayName``
answers in English there), the multi-byte legacy converters above, and ICU data Qt never asks
for (language/region/currency/unit names, spell-out, transliteration) outside English.
Switchboard's UI is English-only and uses none of them. tests/packaging/test_icu_data.py runs
Qt's ICU-backed calls (packaging/icu_probe.py) with both libraries and checks exactly this.

The ICU common-data package format (``CmnD``, ICU's ``package.cpp``): a data header, then a table
of contents at ``headerSize``: ``uint32 count`` and ``count`` pairs ``(nameOffset, dataOffset)``,
both relative to ``headerSize``; the names (``icudt73l/coll/root.res``), sorted, since ICU looks
items up by binary search; then the items, each 16-byte aligned, an item's length being the
distance to the next one. Filtering keeps the order, so the table stays sorted.

The new ``libicudata.so.73`` is assembled with binutils (``as``, ``ld``), which PyInstaller needs
on Linux anyway: one read-only symbol ``icudt73_dat``, the same soname, no other code.

    python packaging/icu_data.py LIBICUDATA OUTDIR     # writes OUTDIR/libicudata.so.NN, prints sizes
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

_LOCALE_RES = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9_]+)?\.res$")  # af.res, zh_Hant_TW.res; not root/pool
_KEEP_IN_EVERY_TREE = ("root.res", "pool.res", "res_index.res")


_BIG_CONVERTER = 64 * 1024  # the multi-byte CJK and EBCDIC mixed tables; single-byte tables are < 16 KB


def keep_item(name: str, size: int = 0) -> bool:
    """Whether the item (a name inside the package, without the ``icudt73l/`` prefix; its size) stays."""
    parts = name.split("/")
    base = parts[-1]
    if base.endswith(".cnv"):
        return size <= _BIG_CONVERTER
    if parts[0] == "coll":
        return True
    if parts[0] == "brkitr":  # break rules (small); not the CJK/Thai/Lao/Khmer/Burmese word dictionaries
        return not base.endswith(".dict")
    if base in _KEEP_IN_EVERY_TREE or base == "en.res" or base.startswith("en_"):
        return True
    if len(parts) == 1:  # top level: everything that is not a locale's bundle
        return not _LOCALE_RES.match(base)
    return parts[0] == "zone" and base == "tzdbNames.res"


def _symbol(lib: bytes) -> tuple[str, int, int]:
    """(name, file offset, size) of the ``icudtNN_dat`` symbol in an ELF64 little-endian library."""
    if lib[:4] != b"\x7fELF" or lib[4] != 2 or lib[5] != 1:
        raise ValueError("not an ELF64 little-endian library")
    (shoff,) = struct.unpack_from("<Q", lib, 0x28)  # e_shoff
    shentsize, shnum = struct.unpack_from("<HH", lib, 0x3A)  # e_shentsize, e_shnum
    sections = [struct.unpack_from("<IIQQQQIIQQ", lib, shoff + i * shentsize) for i in range(shnum)]
    for _name, kind, _flags, _addr, off, size, link, _info, _align, entsize in sections:
        if kind not in (2, 11):  # SHT_SYMTAB, SHT_DYNSYM
            continue
        strtab = sections[link]
        for i in range(size // entsize):
            st_name, _st_info, _other, shndx, value, st_size = struct.unpack_from("<IBBHQQ", lib, off + i * entsize)
            start = strtab[4] + st_name
            sym = lib[start : lib.index(b"\0", start)].decode()
            if re.fullmatch(r"icudt\d+_dat", sym):
                sec = sections[shndx]
                return sym, value - sec[3] + sec[4], st_size
    raise ValueError("no icudtNN_dat symbol")


def read_package(lib_path: Path) -> tuple[str, bytes]:
    """The symbol name and the ICU common-data package inside ``libicudata.so``."""
    lib = lib_path.read_bytes()
    sym, off, size = _symbol(lib)
    return sym, lib[off : off + size]


def filter_package(dat: bytes, keep=keep_item) -> tuple[bytes, int, int]:
    """A package with only the items ``keep`` accepts: (package, items kept, items in all)."""
    header_size, magic1, magic2 = struct.unpack_from("<HBB", dat, 0)
    if (magic1, magic2) != (0xDA, 0x27) or dat[12:16] != b"CmnD":
        raise ValueError("not an ICU common-data package")
    (count,) = struct.unpack_from("<I", dat, header_size)
    toc = [struct.unpack_from("<II", dat, header_size + 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_off, data_off) in enumerate(toc):
        start = header_size + name_off
        name = dat[start : dat.index(b"\0", start)].decode()
        end = toc[i + 1][1] if i + 1 < count else len(dat) - header_size
        if keep(name.split("/", 1)[1], end - data_off):
            items.append((name, dat[header_size + data_off : header_size + end]))

    names = b"".join(n.encode() + b"\0" for n, _ in items)
    toc_size = 4 + 8 * len(items)
    data_start = toc_size + len(names)
    data_start += -(header_size + data_start) % 16
    entries, blobs, name_off, data_off = [], [], toc_size, data_start
    for name, blob in items:
        entries.append(struct.pack("<II", name_off, data_off))
        name_off += len(name) + 1
        blob += b"\0" * (-len(blob) % 16)
        blobs.append(blob)
        data_off += len(blob)
    out = bytearray(dat[:header_size])
    out += struct.pack("<I", len(items)) + b"".join(entries) + names
    out += b"\0" * (header_size + data_start - len(out))
    out += b"".join(blobs)
    return bytes(out), len(items), count


def build_library(src: Path, out_dir: Path) -> Path:
    """Write ``out_dir/<same name as src>``: the trimmed data as a shared library with src's soname."""
    for tool in ("as", "ld"):
        if not shutil.which(tool):
            raise RuntimeError(f"'{tool}' not found: install binutils (PyInstaller needs it on Linux too)")
    sym, dat = read_package(src)
    small, kept, total = filter_package(dat)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "icudata.dat").write_bytes(small)
    (out_dir / "icudata.s").write_text(
        f"""    .section .rodata
    .globl {sym}
    .type {sym}, @object
    .balign 16
{sym}:
    .incbin "icudata.dat"
    .size {sym}, . - {sym}
    .section .note.GNU-stack,"",@progbits
"""
    )
    out = out_dir / src.name
    subprocess.run(["as", "-o", "icudata.o", "icudata.s"], cwd=out_dir, check=True)
    subprocess.run(["ld", "-shared", "-soname", src.name, "-o", str(out), "icudata.o"], cwd=out_dir, check=True)
    print(
        f"icu_data: {src.name} {len(dat) / 1e6:.1f} MB -> {len(small) / 1e6:.1f} MB of data "
        f"({kept} of {total} items kept)",
        file=sys.stderr,
    )
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.rsplit("\n\n", 1)[-1])
    print(build_library(Path(sys.argv[1]), Path(sys.argv[2])))
