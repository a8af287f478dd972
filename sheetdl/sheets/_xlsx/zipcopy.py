"""Copying a zip member without inflating and deflating it again.

Most parts of a workbook are copied unchanged; taking their compressed bytes as they are keeps them
byte-identical and saves deflating a big sheet again. zipfile has no public call for that, so this
relies on a few of its internals (checked once, ``_CAN_COPY_RAW``) and falls back to decompressing and
compressing again where it can't.
"""

from __future__ import annotations

import zipfile


def copy_member(src: zipfile.ZipFile, out: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy one member's compressed bytes as they are (byte-identical, and no time spent deflating).

    zipfile has no public call for this; ``ZipFile.open`` on the destination with a ZipInfo whose
    sizes and CRC are known writes the local header, after which the raw bytes are appended and the
    entry is closed by hand. Members with a data descriptor or an unusual method fall back to
    decompressing and compressing again (the content stays identical)."""
    can = _CAN_COPY_RAW and all(hasattr(out, a) for a in ("_didModify", "start_dir", "filelist", "NameToInfo", "fp"))
    raw = _raw_bytes(src, info) if can else None
    if raw is None:
        data = src.read(info.filename)
        new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
        new.compress_type = info.compress_type if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) \
            else zipfile.ZIP_DEFLATED
        new.external_attr = info.external_attr
        out.writestr(new, data)
        return
    new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    new.compress_type = info.compress_type
    new.external_attr = info.external_attr
    new.create_system = info.create_system
    new.flag_bits = info.flag_bits & 0x800  # keep only "the name is UTF-8"
    new.CRC = info.CRC
    new.compress_size = info.compress_size
    new.file_size = info.file_size
    zip64 = info.file_size > zipfile.ZIP64_LIMIT or info.compress_size > zipfile.ZIP64_LIMIT
    out._writecheck(new)  # noqa: SLF001 - duplicate names, sizes
    fp = out.fp
    new.header_offset = fp.tell()
    fp.write(new.FileHeader(zip64))
    fp.write(raw)
    out.filelist.append(new)
    out.NameToInfo[new.filename] = new
    out.start_dir = fp.tell()
    out._didModify = True  # noqa: SLF001 - so close() writes the central directory


#: the zipfile internals the raw copy relies on (stable since Python 3.6); without them, re-deflate
_CAN_COPY_RAW = hasattr(zipfile.ZipFile, "_writecheck") and hasattr(zipfile.ZipInfo, "FileHeader")


def _raw_bytes(src: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The compressed bytes of a stored or deflated member, or None when they can't be taken as they are."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        return None
    fp = src.fp
    if fp is None:
        return None
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        return None
    name_len = int.from_bytes(header[26:28], "little")
    extra_len = int.from_bytes(header[28:30], "little")
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    data = fp.read(info.compress_size)
    if len(data) != info.compress_size:
        return None
    return data
