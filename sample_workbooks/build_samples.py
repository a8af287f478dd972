"""Build the sample workbooks shipped with SheetDL from real data that comes inside Python packages.

    python sample_workbooks/build_samples.py            # writes sample_workbooks/Penguins.xlsx
    python sample_workbooks/build_samples.py OUT_DIR

The output is byte-for-byte the same on every run (fixed seed, fixed document dates; xlsxwriter
already stamps the zip entries with a fixed time), so rebuilding never shows up as a change in git.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the sheetdl checkout, for SETTING_KEYS

#: How many rows get their Species blanked for the demo to predict, and the seed that picks them.
N_BLANK = 20
SEED = 20240607
#: Document dates written into the file so it is byte-stable.
FIXED_DATE = dt.datetime(2024, 6, 7, 12, 0, 0)

PENGUIN_COLUMNS = {
    "species": "Species",
    "island": "Island",
    "bill_length_mm": "Bill length (mm)",
    "bill_depth_mm": "Bill depth (mm)",
    "flipper_length_mm": "Flipper length (mm)",
    "body_mass_g": "Body mass (g)",
    "sex": "Sex",
    "year": "Year",
}
MEASUREMENTS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]

ABOUT = [
    ("Palmer penguins", "title"),
    ("", None),
    ("What is in this workbook", "heading"),
    ("The 'Penguins' sheet lists 344 penguins studied near Palmer Station, Antarctica, from 2007 to "
     "2009: the species, the island where each bird was seen, four body measurements, sex and year.",
     None),
    (f"The Species cell is blank on {N_BLANK} rows. SheetDL learns from the rows where Species is "
     "filled in and fills in the blank ones, with how confident it is.", None),
    ("", None),
    ("How to try it", "heading"),
    ("Run:  sheetdl train Penguins.xlsx", None),
    ("The 'SheetDL' sheet already says what to predict (Species), which sheet holds the data and "
     "how long to train (30 seconds), so no other options are needed.", None),
    ("", None),
    ("Source", "heading"),
    ("Data collected by Dr. Kristen Gorman with the Palmer Station Long Term Ecological Research "
     "(LTER) Program, a member of the LTER Network.", None),
    ("Taken from the palmerpenguins package: Horst AM, Hill AP, Gorman KB (2020). palmerpenguins: "
     "Palmer Archipelago (Antarctica) penguin data. doi:10.5281/zenodo.3960218", None),
    ("Original study: Gorman KB, Williams TD, Fraser WR (2014). PLoS ONE 9(3): e90081. "
     "doi:10.1371/journal.pone.0090081", None),
    ("https://allisonhorst.github.io/palmerpenguins/", "link"),
    ("", None),
    ("Licence", "heading"),
    ("CC0 1.0 (public domain): free to use, share and change for any purpose.", None),
    ("", None),
    ("Notes", "heading"),
    ("Blank measurement or Sex cells are missing in the original data; they were left blank.", None),
]


def penguin_rows(seed: int = SEED) -> tuple[list[str], list[list[object]], list[int]]:
    """Friendly headers, the data rows (None = blank cell) and the 0-based rows whose Species is blank.

    The blanked rows are drawn, with a fixed seed, among penguins whose four measurements are all
    present, so each one can really be predicted.
    """
    from palmerpenguins import load_penguins

    df = load_penguins()
    headers = [PENGUIN_COLUMNS[c] for c in PENGUIN_COLUMNS]
    complete = np.flatnonzero(df[MEASUREMENTS].notna().all(axis=1).to_numpy())
    rng = np.random.default_rng(seed)
    blank = sorted(int(i) for i in rng.choice(complete, size=N_BLANK, replace=False))

    rows: list[list[object]] = []
    for i, record in enumerate(df[list(PENGUIN_COLUMNS)].itertuples(index=False)):
        row: list[object] = []
        for name, value in zip(PENGUIN_COLUMNS, record):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                row.append(None)
            elif isinstance(value, float) and value.is_integer() and name in ("body_mass_g",
                                                                               "flipper_length_mm"):
                row.append(int(value))
            elif isinstance(value, (np.integer,)):
                row.append(int(value))
            else:
                row.append(value)
        if i in blank:
            row[0] = None
        rows.append(row)
    return headers, rows, blank


def build_penguins(path: Path) -> Path:
    import xlsxwriter

    from sheetdl.settings import SETTING_KEYS

    headers, rows, _blank = penguin_rows()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({
        "title": "Palmer penguins: predict the species",
        "subject": "SheetDL sample workbook",
        "author": "SheetDL",
        "comments": "Data: palmerpenguins (CC0). Built by sample_workbooks/build_samples.py",
        "created": FIXED_DATE,
    })
    # xlsxwriter writes dcterms:modified from 'created' too, so the whole file is stable.

    title = wb.add_format({"bold": True, "font_size": 16})
    heading = wb.add_format({"bold": True, "font_size": 12})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    bold = wb.add_format({"bold": True})

    about = wb.add_worksheet("About")
    about.set_column("A:A", 100)
    for r, (text, style) in enumerate(ABOUT):
        if style == "title":
            about.write(r, 0, text, title)
        elif style == "heading":
            about.write(r, 0, text, heading)
        elif style == "link":
            about.write_url(r, 0, text)
        elif text:
            about.write(r, 0, text, wrap)

    data = wb.add_worksheet("Penguins")
    n = len(rows)
    one_dp = wb.add_format({"num_format": "0.0"})
    whole = wb.add_format({"num_format": "0"})
    formats = [None, None, one_dp, one_dp, whole, whole, None, whole]
    widths = [12, 11, 16, 16, 19, 15, 9, 7]
    data.add_table(0, 0, n, len(headers) - 1, {
        "name": "PenguinsTable",
        "style": "Table Style Medium 2",
        "columns": [{"header": h, "format": f} for h, f in zip(headers, formats)],
    })
    for c, width in enumerate(widths):
        data.set_column(c, c, width)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is not None:  # missing stays a truly blank cell
                data.write(r, c, value, formats[c])
    data.freeze_panes(1, 0)

    settings = wb.add_worksheet("SheetDL")
    settings.set_column("A:A", 24)
    settings.set_column("B:B", 14)
    settings.set_column("C:C", 90)
    values = {
        "Target column": "Species",
        "Data sheet": "Penguins",
        "Ignore columns": None,
        "Time budget (seconds)": 30,
        "Task": "auto",
        "Device": "auto",
        "Seed": 0,
    }
    settings.write_row(0, 0, ["Setting", "Value", "Note"], bold)
    for r, (key, note) in enumerate(SETTING_KEYS.items(), start=1):
        settings.write(r, 0, key)
        if values.get(key) is not None:
            settings.write(r, 1, values[key])
        settings.write(r, 2, note)

    about.activate()
    wb.close()
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0]) if argv else HERE
    path = build_penguins(out_dir / "Penguins.xlsx")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
