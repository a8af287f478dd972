"""Build the catalogue of bad inputs that ``tests/test_bad_inputs.py`` throws at SheetDL.

    python tests/bad_inputs/build.py          # rewrites the files in this folder

Every file is small (the whole folder stays well under 3 MB). The huge cases (2,000 columns, 200,000
rows, the full 1,048,576 rows) are generated at test or benchmark time in a temporary folder instead
of being committed. The .xls and .ods copies are converted from an .xlsx with LibreOffice (``soffice``);
without it those two files are left as they are. No tool here can write an .xlsb (LibreOffice and the
Python libraries only read that format), so the catalogue has none.

The contents are deterministic (no randomness without a fixed seed), so rebuilding gives the same cells.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import openpyxl
import xlsxwriter
from openpyxl.worksheet.table import Table as XlTable
from openpyxl.worksheet.table import TableStyleInfo

HERE = Path(__file__).resolve().parent


def _book(name: str, rows: list[list], *, title: str = "Data", setup=None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    if setup:
        setup(wb, ws)
    path = HERE / name
    wb.save(path)
    return path


def _learnable(n: int = 60, *, seed: int = 0) -> tuple[list[str], list[list]]:
    """A small table a model can learn: Size and Colour decide Label."""
    rng = random.Random(seed)
    header = ["Size", "Colour", "Weight", "Label"]
    rows = []
    for i in range(n):
        size = round(rng.uniform(1, 10), 1)
        colour = rng.choice(["red", "green", "blue"])
        rows.append([size, colour, round(size * 2 + rng.random(), 2), "big" if size > 5 else "small"])
    return header, rows


def build() -> list[Path]:
    made: list[Path] = []
    add = made.append
    header, rows = _learnable()

    # --- workbook and table shape -----------------------------------------------------------------
    wb = openpyxl.Workbook()
    wb.save(HERE / "empty_workbook.xlsx")
    add(HERE / "empty_workbook.xlsx")
    add(_book("headers_only.xlsx", [header]))
    add(_book("duplicate_headers.xlsx", [["Price", "Price", "Label"]] + [[i, i * 2, "ab"[i % 2]] for i in range(30)]))
    add(_book("blank_header.xlsx", [["Size", None, "Label"]] + [[i, i % 3, "ab"[i % 2]] for i in range(30)]))
    add(_book("numeric_headers.xlsx", [[2023, 2024, "Label"]] + [[i, i * 3, "ab"[i % 2]] for i in range(30)]))

    def merged(wb, ws):
        ws.merge_cells("A1:B1")
        ws.merge_cells("C1:D1")

    add(_book("merged_headers.xlsx",
              [["Measurements", None, "Outcome", None], header] + rows, setup=merged))
    add(_book("title_block.xlsx",
              [["Quarterly report"], ["Prepared by finance, 2024"], [], header] + rows))

    def table(wb, ws):
        n = len(rows) + 1
        ws.append(["Total", None, f"=SUBTOTAL(109,C2:C{n})", None])
        t = XlTable(displayName="Sales", ref=f"A1:D{n + 1}", totalsRowCount=1)
        t.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        ws.add_table(t)

    add(_book("excel_table_totals.xlsx", [header] + rows, setup=table))

    # --- the target column ------------------------------------------------------------------------
    add(_book("target_all_blank.xlsx", [header] + [r[:3] + [None] for r in rows]))
    add(_book("target_one_class.xlsx", [header] + [r[:3] + ["big"] for r in rows]))
    add(_book("target_class_one_row.xlsx", [header] + rows[:-1] + [rows[-1][:3] + ["huge"]]))
    rng = random.Random(1)
    add(_book("target_many_values.xlsx",
              [["Size", "Colour", "City"]]
              + [[i, rng.choice("rgb"), f"Town {rng.randrange(300)}"] for i in range(400)]))
    add(_book("target_is_dates.xlsx", [["Size", "When"]] + [[i, dt.datetime(2024, 1, 1 + i % 28)] for i in range(30)]))

    # --- cell values ------------------------------------------------------------------------------
    texts = ["1,234", "$5", "12%", "(3)", "'42", " 7 ", "€1.234,50", "1 000", "-$2.50", "3.5"]
    add(_book("numbers_as_text.xlsx",
              [["Amount", "Label"]] + [[texts[i % len(texts)], "ab"[i % 2]] for i in range(40)]))
    add(_book("decimal_comma_text.xlsx",
              [["Amount", "Label"]] + [[f"{i},{i % 10}5", "ab"[i % 2]] for i in range(40)]))
    placeholders = ["n/a", "-", "?", "NULL"]
    add(_book("placeholders.xlsx",
              [["Amount", "Label"]] + [[placeholders[i % 4] if i % 5 == 0 else i * 1.5, "ab"[i % 2]] for i in range(40)]))

    errors = ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"]
    wbx = xlsxwriter.Workbook(str(HERE / "excel_errors.xlsx"))
    ws = wbx.add_worksheet("Data")
    ws.write_row(0, 0, ["Amount", "Label"])
    for i in range(40):
        if i % 4 == 0:
            ws.write_formula(i + 1, 0, "=1/0", None, errors[(i // 4) % len(errors)])
        elif i % 4 == 1 and i // 4 < 11:
            # the newer error values, as Excel stores them: an error-typed cell
            ws.write_formula(i + 1, 0, "=A1", None,
                             ["#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!",
                              "#BUSY!", "#UNKNOWN!", "#EXTERNAL!", "#PYTHON!", "#N/A"][i // 4])
        else:
            ws.write_number(i + 1, 0, i * 1.5)
        ws.write_string(i + 1, 1, "ab"[i % 2])
    wbx.close()
    add(HERE / "excel_errors.xlsx")

    wbx = xlsxwriter.Workbook(str(HERE / "formulas_cached.xlsx"))
    ws = wbx.add_worksheet("Data")
    ws.write_row(0, 0, ["Size", "Double", "Label"])
    for i in range(40):
        ws.write_number(i + 1, 0, i)
        ws.write_formula(i + 1, 1, f"=A{i + 2}*2", None, i * 2)
        ws.write_string(i + 1, 2, "ab"[i % 2])
    wbx.close()
    add(HERE / "formulas_cached.xlsx")
    # openpyxl stores formulas without their results: every formula cell reads blank
    add(_book("formulas_not_calculated.xlsx",
              [["Size", "Double", "Label"]] + [[i, f"=A{i + 2}*2", "ab"[i % 2]] for i in range(40)]))

    def date_format(wb, ws):
        for row in ws.iter_rows(min_row=2, min_col=1, max_col=1):
            row[0].number_format = "yyyy-mm-dd"

    add(_book("dates_serial.xlsx",
              [["Joined", "Label"]] + [[dt.datetime(2023, 1 + i % 12, 1 + i % 27), "ab"[i % 2]] for i in range(40)],
              setup=date_format))
    fmts = ["%d/%m/%Y", "%Y-%m-%d", "%d %b %Y", "%b %d, %Y", "%d.%m.%Y"]
    add(_book("dates_text.xlsx",
              [[f"Date {k + 1}" for k in range(len(fmts))] + ["Label"]]
              + [[(dt.date(2023, 1, 1) + dt.timedelta(days=17 * i)).strftime(f) for f in fmts] + ["ab"[i % 2]]
                 for i in range(40)]))
    forms = [("yes", "no"), ("TRUE", "FALSE"), (True, False), ("Y", "N"), (1, 0)]
    add(_book("booleans.xlsx",
              [[f"Flag {k + 1}" for k in range(len(forms))] + ["Label"]]
              + [[f[0] if i % 3 == 0 else f[1] for f in forms] + ["ab"[i % 2]] for i in range(40)]))
    spellings = ["New York", "new york", " NEW  YORK ", "New York", "Boston", "boston", "BOSTON", "Boston"]
    add(_book("category_spelling.xlsx",
              [["Region", "Size", "Label"]]
              + [[spellings[i % len(spellings)], i % 7, ["Yes", "yes ", " YES", "No", "no"][i % 5]]
                 for i in range(40)]))

    def hide(wb, ws):
        ws.row_dimensions[5].hidden = True
        ws.row_dimensions[9].hidden = True
        ws.column_dimensions["C"].hidden = True

    add(_book("hidden_rows_columns.xlsx", [header] + rows, setup=hide))

    def autofilter(wb, ws):
        ws.auto_filter.ref = f"A1:D{len(rows) + 1}"
        ws.auto_filter.add_filter_column(1, ["red"])
        for i, r in enumerate(rows):
            if r[1] != "red":
                ws.row_dimensions[i + 2].hidden = True

    add(_book("filtered_rows.xlsx", [header] + rows, setup=autofilter))
    long = "x" * 32767
    add(_book("long_cells.xlsx",
              [["Notes", "Size", "Label"]] + [[long if i % 10 == 0 else f"note {i}", i, "ab"[i % 2]] for i in range(40)]))
    add(_book("emoji_rtl.xlsx",
              [["Name 🙂", "שם", "Label"]]
              + [[["🍎 apple", "🍌 banana", "🍒 cherry"][i % 3], ["שלום", "مرحبا", "עולם"][i % 3], ["✅", "❌"][i % 2]]
                 for i in range(40)]))

    # --- image paths: good pictures among missing, corrupt, fake, bomb, network and escaping paths ----
    add(_image_paths())

    # --- files that are not (plain) workbooks -------------------------------------------------------
    (HERE / "zero_bytes.xlsx").write_bytes(b"")
    (HERE / "text_named_xlsx.xlsx").write_text("Size,Label\n1,a\n")
    src = (HERE / "title_block.xlsx").read_bytes()
    (HERE / "truncated.xlsx").write_bytes(src[: len(src) // 2])
    (HERE / "password_protected.xlsx").write_bytes(_encrypted_ole())
    (HERE / "unsupported.docx").write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    lines = ["Size;Colour;Weight;Label"] + [f"{str(r[0]).replace('.', ',')};{r[1]};{str(r[2]).replace('.', ',')};{r[3]}"
                                           for r in rows]
    (HERE / "semicolon.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    made += [HERE / n for n in ("zero_bytes.xlsx", "text_named_xlsx.xlsx", "truncated.xlsx",
                                "password_protected.xlsx", "unsupported.docx", "semicolon.csv")]
    clean = _book("clean.xlsx", [header] + rows)
    for ext in ("xls", "ods"):
        made += _convert(clean, ext)
    return made


def _image_paths() -> Path:
    """Most rows name a real picture (red for 'a', blue for 'b'); seven name pictures that can't be
    used. The run must go on and list the seven by cell."""
    folder = HERE / "images"
    folder.mkdir(exist_ok=True)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a picture")
    (folder / "not_an_image.jpg").write_text("plain text with a picture's name")
    (folder / "bomb.png").write_bytes(_png_bomb())
    colours = {"a": (200, 30, 30), "b": (30, 30, 200)}
    for label, rgb in colours.items():
        (folder / f"good_{label}.png").write_bytes(_solid_png(rgb))
    bad = ["images/missing.png", "images/corrupt.png", "images/not_an_image.jpg", "images/bomb.png",
           r"\\server\share\photo.jpg", "../../../etc/passwd.png", "C:\\Windows\\..\\secret.jpeg"]
    rows = [[bad[i] if i < len(bad) else f"images/good_{'ab'[i % 2]}.png", i, "ab"[i % 2]] for i in range(40)]
    return _book("image_paths.xlsx", [["Photo", "Size", "Label"]] + rows)


def _solid_png(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    """A small one-colour PNG, written by hand (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _png_bomb() -> bytes:
    """A valid PNG header claiming 100,000 × 100,000 pixels (a decompression bomb if ever decoded)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 200_000, 9)) \
        + chunk(b"IEND", b"")


def _encrypted_ole() -> bytes:
    """What Excel writes for a password-protected .xlsx: an OLE compound file (CFB) whose directory
    holds 'EncryptionInfo' and 'EncryptedPackage' streams. Only the header and the directory entries
    are real here; the encrypted bytes are filler (no tool here can encrypt an .xlsx)."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHH", header, 24, 0x3E, 3, 0xFFFE, 9)  # minor, major version, byte order, sector shift
    struct.pack_into("<H", header, 32, 6)
    directory = bytearray()
    for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage"):
        entry = bytearray(128)
        raw = name.encode("utf-16-le") + b"\x00\x00"
        entry[: len(raw)] = raw
        struct.pack_into("<H", entry, 64, len(raw))
        entry[66] = 5 if name == "Root Entry" else 2
        directory += entry
    return bytes(header) + bytes(directory) + b"\x00" * 1024


def _convert(src: Path, ext: str) -> list[Path]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        print(f"soffice not found: {src.stem}.{ext} not rebuilt")
        return []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp}/profile", "--convert-to", ext,
                        "--outdir", tmp, str(src)], check=True, capture_output=True, timeout=180)
        out = HERE / f"{src.stem}.{ext}"
        shutil.copyfile(Path(tmp) / f"{src.stem}.{ext}", out)
    return [out]


if __name__ == "__main__":
    files = build()
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"{len(files)} files, {total / 1e6:.2f} MB in {HERE}")
