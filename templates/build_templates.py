"""Build the template workbooks that ``sheetdl new`` copies.

    python templates/build_templates.py            # writes sheetdl/data/templates/*.xlsx (package data)
    python templates/build_templates.py OUT_DIR

Each template has three sheets: 'Start here' (numbered steps in plain words), 'Data' (an Excel Table
with example headers and a few example rows showing the layout, some with the target left blank) and
'SheetDL' (the settings, Setting | Value | Note, with dropdowns). The build is byte-for-byte
repeatable (fixed document dates; xlsxwriter stamps zip entries with a fixed time), so rebuilding
never shows up as a change in git.

:func:`write_settings_sheet` is also used by ``sample_workbooks/build_samples.py``.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the sheetdl checkout: SETTING_KEYS and the template list
#: where `sheetdl new` finds them: package data, so an installed SheetDL carries them
PACKAGE_DIR = HERE.parent / "sheetdl" / "data" / "templates"

#: Document dates written into every file so that the bytes never change between builds.
FIXED_DATE = dt.datetime(2024, 6, 7, 12, 0, 0)

# the dropdowns, row heights and picture texts are shared with the workbooks 'sheetdl new images' makes
from sheetdl.new import IMAGE_RESULTS, IMAGE_TIPS, TEXT_WIDTH, row_height, settings_validation  # noqa: E402


def _col(c: int) -> str:
    name = ""
    c += 1
    while c:
        c, r = divmod(c - 1, 26)
        name = chr(65 + r) + name
    return name


def write_settings_sheet(wb, values: dict, *, data_sheet: str, n_columns: int, fmt: dict) -> None:
    """The 'SheetDL' sheet: Setting | Value | Note, one row per key of ``SETTING_KEYS``, with
    dropdowns: the target (and a column to ignore) chosen from the data sheet's headers, the task,
    time budget and device from lists, the seed a whole number. A dropdown cell also shows the
    setting's note when it is selected."""
    from sheetdl.settings import SETTING_KEYS

    ws = wb.add_worksheet("SheetDL")
    ws.set_column("A:A", 24)
    ws.set_column("B:B", 22, fmt["value"])
    ws.set_column("C:C", 92, fmt["wrap"])
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.write_row(0, 0, ["Setting", "Value", "Note"], fmt["header"])
    quoted = f"'{data_sheet}'" if not data_sheet.isalnum() else data_sheet
    headers = f"={quoted}!$A$1:${_col(n_columns - 1)}$1"
    for r, (key, note) in enumerate(SETTING_KEYS.items(), start=1):
        ws.write(r, 0, key, fmt["key"])
        if values.get(key) is not None:
            ws.write(r, 1, values[key], fmt["value"])
        else:
            ws.write_blank(r, 1, None, fmt["value"])
        ws.write(r, 2, note, fmt["wrap"])
        rule = settings_validation(key, headers, data_sheet)
        if rule:
            rule.update({"input_title": key[:32], "input_message": note[:255]})
            ws.data_validation(r, 1, r, 1, rule)
    ws.freeze_panes(1, 0)


def formats(wb) -> dict:
    return {
        "title": wb.add_format({"bold": True, "font_size": 16, "font_color": "#1F4E79"}),
        "subtitle": wb.add_format({"italic": True, "font_size": 11, "font_color": "#404040",
                                   "text_wrap": True, "valign": "top"}),
        "heading": wb.add_format({"bold": True, "font_size": 12, "font_color": "#1F4E79"}),
        "number": wb.add_format({"bold": True, "font_size": 11, "align": "right", "valign": "top"}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        "command": wb.add_format({"font_name": "Courier New", "bold": True, "valign": "vcenter",
                                  "bg_color": "#F2F2F2", "text_wrap": True}),
        "warn": wb.add_format({"text_wrap": True, "valign": "top", "bg_color": "#FFF2CC",
                               "border": 1, "border_color": "#BF9000"}),
        "header": wb.add_format({"bold": True, "bottom": 1}),
        "key": wb.add_format({"bold": True, "valign": "top"}),
        "value": wb.add_format({"bg_color": "#FFF2CC", "valign": "top", "align": "left",
                                "border": 1, "border_color": "#BFBFBF"}),
    }


# ---------------------------------------------------------------------------------------------
@dataclass
class Template:
    name: str
    intro: str
    headers: list[str]
    rows: list[list[object]]
    widths: list[int]
    target: str
    task: str
    step_data: str  # step 1: what one row is
    step_target: str  # step 2: the column to predict
    comes_back: list[str]
    ignore: str | None = None
    num_formats: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # header → cell note
    warning: str | None = None
    tips: list[str] | None = None  # None: the general TIPS


def _steps(t: Template) -> list[tuple[str, str | None]]:
    """(text, style) for each numbered step; style 'command' shows a line to type."""
    return [
        (t.step_data, None),
        (t.step_target, None),
        (f"Go to the 'SheetDL' sheet. Click the yellow cell beside 'Target column' and pick the "
         f"column to predict from the list (here: '{t.target}'). The other settings can stay as "
         "they are; the Note column says what each one does.", None),
        ("Save the workbook and close it.", None),
        ("Train. In a terminal opened in this workbook's folder, type the line below (with your "
         "file's name if you renamed it). Or, in Excel with the SheetDL add-in, press Train. It "
         "takes about a minute: the 'Time budget' setting.", None),
        (f'sheetdl train "{t.name}.xlsx"', "command"),
        (f"Open the result: '{t.name} (SheetDL).xlsx' appears beside this workbook. This workbook "
         "itself is never changed.", None),
    ]


TIPS = [
    "The more rows with the answer filled in, the better: a few hundred is a good start, "
    "thousands are better.",
    "Blank cells in the other columns are fine. Keep one kind of value per column: numbers, "
    "dates, yes/no, categories or short text.",
    "A column that is different on every row (such as an ID) is ignored by itself; list any other "
    "column to leave out under 'Ignore columns' on the 'SheetDL' sheet.",
    "You can rename the columns and add more: SheetDL reads whatever headers are in row 1.",
]


def _classify_back(target: str) -> list[str]:
    return [
        f"On the 'Data' sheet, new columns right of your data: 'Predicted {target}', 'Confidence', "
        "'Review' ('Check' where the model is less sure than the 'Review threshold' setting, 70%) and "
        "'Why' (the columns that pushed each answer most).",
        "Rows you left blank get SheetDL's answer, shaded yellow. The other rows get the answer the "
        "model gives without having seen theirs, so you can check it against the truth.",
        "A 'SheetDL Report' sheet, in plain words: how often the model is right on rows it did not "
        "learn from, compared with guessing, and how each column was used.",
        "A 'SheetDL Importance' sheet showing which columns mattered most.",
        "A model file ('… (SheetDL).sheetdl') to fill in new rows later with: sheetdl predict "
        "\"New rows.xlsx\" --model \"… (SheetDL).sheetdl\"",
    ]


TEMPLATE_SPECS: list[Template] = [
    Template(
        name="Classify rows",
        intro="Predict a category for each row: will a customer renew (Yes/No)? Which tier, "
              "team or type does a row belong to? Two or more categories are fine.",
        headers=["Customer ID", "Plan", "Months as customer", "Monthly spend ($)",
                 "Support calls last year", "Renewed"],
        rows=[
            ["C-1001", "Basic", 4, 19.99, 3, "No"],
            ["C-1002", "Premium", 26, 49.99, 0, "Yes"],
            ["C-1003", "Standard", 12, 29.99, 1, "Yes"],
            ["C-1004", "Basic", 2, 19.99, 5, "No"],
            ["C-1005", "Premium", 40, 54.99, 1, "Yes"],
            ["C-1006", "Standard", 7, 29.99, 2, None],
            ["C-1007", "Basic", 15, 24.99, 0, None],
        ],
        widths=[13, 11, 20, 19, 23, 11],
        target="Renewed",
        task="classification",
        ignore="Customer ID",
        num_formats={"Monthly spend ($)": "0.00"},
        step_data="Put your data on the 'Data' sheet: one row per example (a customer, an order, "
                  "a case), one column per fact, headers in row 1. Paste over the example rows: "
                  "they only show the layout. The table grows to fit what you paste.",
        step_target="One column holds the category to predict (in the example: 'Renewed'). Fill "
                    "it in where you know the answer; leave it blank on the rows you want SheetDL "
                    "to fill in.",
        comes_back=_classify_back("Renewed"),
        notes={"Renewed": "The column to predict. Rows where it is blank get a prediction."},
    ),
    Template(
        name="Predict a number",
        intro="Predict a number for each row: a sale price, an amount, a duration, a score.",
        headers=["Property ID", "Neighbourhood", "Floor area (m²)", "Bedrooms", "Year built",
                 "Garden", "Sale price ($)"],
        rows=[
            ["H-201", "Riverside", 85, 2, 1998, "Yes", 245000],
            ["H-202", "Old Town", 62, 1, 1925, "No", 198000],
            ["H-203", "Hillcrest", 140, 4, 2012, "Yes", 455000],
            ["H-204", "Riverside", 110, 3, 2005, "Yes", 338000],
            ["H-205", "Old Town", 95, 3, 1950, "No", 276000],
            ["H-206", "Hillcrest", 120, 3, 2018, "Yes", None],
            ["H-207", "Riverside", 70, 2, 1990, "No", None],
        ],
        widths=[13, 15, 17, 11, 12, 10, 16],
        target="Sale price ($)",
        task="regression",
        ignore="Property ID",
        num_formats={"Sale price ($)": "#,##0"},
        step_data="Put your data on the 'Data' sheet: one row per example (a house, an order, a "
                  "project), one column per fact, headers in row 1. Paste over the example rows: "
                  "they only show the layout. The table grows to fit what you paste.",
        step_target="One column holds the number to predict (in the example: 'Sale price ($)'). "
                    "Fill it in where you know it; leave it blank on the rows you want SheetDL to "
                    "fill in. Keep it plain numbers: '$' and thousands separators are fine.",
        comes_back=[
            "On the 'Data' sheet, new columns right of your data: 'Predicted Sale price ($)' and "
            "'Why' (the columns that pushed each prediction up or down most).",
            "Rows you left blank get SheetDL's prediction, shaded yellow. The other rows get the "
            "prediction the model makes without having seen their number, so you can check it.",
            "A 'SheetDL Report' sheet, in plain words: how far off the predictions are on rows the "
            "model did not learn from, compared with always guessing the average (R², typical "
            "error).",
            "A 'SheetDL Importance' sheet showing which columns mattered most.",
            "A model file ('… (SheetDL).sheetdl') to fill in new rows later with: sheetdl predict "
            "\"New rows.xlsx\" --model \"… (SheetDL).sheetdl\"",
        ],
        notes={"Sale price ($)": "The number to predict. Rows where it is blank get a prediction."},
    ),
    Template(
        name="Fill in missing values",
        intro="Fill the blank cells of one column from what the other columns say: a missing "
              "category, label or number in a list that is mostly filled in.",
        headers=["Product", "Category", "Weight (kg)", "Price ($)", "Supplier country",
                 "Shipping class"],
        rows=[
            ["Desk lamp", "Lighting", 1.2, 34.5, "Germany", "Standard"],
            ["Oak bookcase", "Furniture", 38.0, 289.0, "Poland", "Bulky"],
            ["Wine glasses (6)", "Kitchen", 2.1, 42.0, "Italy", "Fragile"],
            ["Floor lamp", "Lighting", 6.5, None, "Germany", None],
            ["Sofa", "Furniture", 62.0, 899.0, None, "Bulky"],
            ["Ceramic vase", "Decor", 1.8, 27.9, "Portugal", None],
            ["Cutlery set", "Kitchen", 2.4, 59.0, "Germany", "Standard"],
        ],
        widths=[19, 12, 13, 11, 18, 16],
        target="Shipping class",
        task="auto",
        num_formats={"Weight (kg)": "0.0", "Price ($)": "0.00"},
        step_data="Put your data on the 'Data' sheet: one row per item, one column per fact, "
                  "headers in row 1. Paste over the example rows: they only show the layout. The "
                  "table grows to fit what you paste.",
        step_target="Choose the column whose gaps you want filled (in the example: 'Shipping "
                    "class'). Its filled cells are what SheetDL learns from; its blank cells get "
                    "filled in. Gaps in the other columns are fine. To fill another column, run "
                    "again with that column picked.",
        comes_back=[
            "On the 'Data' sheet, new columns right of your data: 'Predicted Shipping class' (the "
            "blank cells filled in, shaded yellow), 'Confidence' for categories, and 'Why'.",
            "Your own column is left as it was, so you can compare and copy the filled-in values "
            "across where you agree.",
            "A 'SheetDL Report' sheet saying how often the filled-in values would have been right "
            "on rows where the answer was known, and how each column was used.",
            "A 'SheetDL Importance' sheet showing which columns mattered most.",
        ],
        notes={"Shipping class": "The column with gaps. Blank cells get filled in."},
    ),
    Template(
        name="Classify images",
        intro="Put a label on pictures: one row per picture file, with the label filled in where "
              "you know it and blank where SheetDL should say. Other columns, such as a date or a "
              "place, can help.",
        headers=["Image", "Taken on", "Field", "Label"],
        rows=[
            ["photos/leaf_001.jpg", dt.date(2024, 5, 2), "North", "healthy"],
            ["photos/leaf_002.jpg", dt.date(2024, 5, 2), "North", "rust"],
            ["photos/leaf_003.jpg", dt.date(2024, 5, 3), "South", "healthy"],
            ["photos/leaf_004.jpg", dt.date(2024, 5, 3), "South", "blight"],
            ["photos/leaf_005.jpg", dt.date(2024, 5, 4), "East", "rust"],
            ["photos/leaf_006.jpg", dt.date(2024, 5, 4), "East", None],
            ["photos/leaf_007.jpg", dt.date(2024, 5, 5), "North", None],
        ],
        widths=[24, 13, 10, 11],
        target="Label",
        task="classification",
        num_formats={"Taken on": "yyyy-mm-dd"},
        step_data="Put the pictures in a folder beside this workbook (for example 'photos'; "
                  "subfolders are fine). On the 'Data' sheet, list one picture per row in the "
                  "'Image' column, as a path from this workbook's folder such as "
                  "photos/leaf_001.jpg, or as a full path. Other columns are optional. Shortcut: if "
                  "the pictures are already sorted into one subfolder per label (photos/healthy, "
                  "photos/rust …), run  sheetdl new images \"photos\"  in a terminal instead: it makes "
                  "a workbook listing every picture with its label.",
        step_target="The 'Label' column holds what each picture shows. Fill it in where you know "
                    "it; leave it blank on the pictures you want SheetDL to label. Two or more "
                    "labels are fine.",
        comes_back=_classify_back("Label")[:-1] + IMAGE_RESULTS[3:],
        notes={"Image": "Paths to picture files (.jpg, .png …), from this workbook's folder "
                        "(photos/leaf_001.jpg) or full paths.",
               "Label": "The label to predict. Rows where it is blank get a prediction."},
        tips=IMAGE_TIPS,
    ),
]


def build_template(t: Template, path: Path) -> Path:
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({
        "title": f"SheetDL template: {t.name}",
        "subject": "SheetDL template workbook",
        "author": "SheetDL",
        "comments": "Built by templates/build_templates.py",
        "created": FIXED_DATE,
    })
    fmt = formats(wb)
    _start_here(wb, t, fmt)
    _data_sheet(wb, t, fmt)
    write_settings_sheet(wb, {
        "Target column": t.target, "Data sheet": "Data", "Ignore columns": t.ignore,
        "Time budget (seconds)": 60, "Task": t.task, "Device": "auto", "Seed": 0,
        "Review threshold": "70%" if t.task == "classification" else None,
        "Fine-tune pictures": "auto" if t.name == "Classify images" else None,
    }, data_sheet="Data", n_columns=len(t.headers), fmt=fmt)
    wb.close()
    return path


def fit_row(ws, r: int, text: str, width: int = TEXT_WIDTH, extra: float = 0) -> None:
    """Give row ``r`` room for ``text`` wrapped at ``width`` characters: neither Excel nor
    LibreOffice grows a row for wrapped text when it opens a file."""
    ws.set_row(r, row_height(text, width, extra))


def _start_here(wb, t: Template, fmt: dict) -> None:
    ws = wb.add_worksheet("Start here")
    ws.hide_gridlines(2)
    ws.set_column("A:A", 4)
    ws.set_column("B:B", TEXT_WIDTH)
    ws.set_portrait()
    ws.set_paper(9)  # A4
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.fit_to_pages(1, 0)
    ws.write(0, 0, f"{t.name}", fmt["title"])
    ws.set_row(0, 24)
    ws.merge_range(1, 0, 1, 1, t.intro, fmt["subtitle"])
    fit_row(ws, 1, t.intro, TEXT_WIDTH + 4)
    r = 3
    if t.warning:
        ws.merge_range(r, 0, r, 1, t.warning, fmt["warn"])
        fit_row(ws, r, t.warning, TEXT_WIDTH + 2, extra=4)
        r += 2
    ws.write(r, 0, "Steps", fmt["heading"])
    r += 1
    n = 0
    for text, style in _steps(t):
        if style == "command":
            ws.write(r, 1, text, fmt["command"])
            ws.set_row(r, 20)
        else:
            n += 1
            ws.write(r, 0, f"{n}.", fmt["number"])
            ws.write(r, 1, text, fmt["wrap"])
        fit_row(ws, r, text)
        r += 1
    r += 1
    ws.write(r, 0, "What comes back", fmt["heading"])
    r += 1
    for text in t.comes_back:
        ws.write(r, 0, "•", fmt["number"])
        ws.write(r, 1, text, fmt["wrap"])
        fit_row(ws, r, text)
        r += 1
    r += 1
    ws.write(r, 0, "Tips", fmt["heading"])
    r += 1
    for text in t.tips or TIPS:
        ws.write(r, 0, "•", fmt["number"])
        ws.write(r, 1, text, fmt["wrap"])
        fit_row(ws, r, text)
        r += 1
    ws.activate()


def _data_sheet(wb, t: Template, fmt: dict) -> None:
    ws = wb.add_worksheet("Data")
    ws.fit_to_pages(1, 0)
    columns = []
    cell_formats = []
    for h in t.headers:
        f = wb.add_format({"num_format": t.num_formats[h]}) if h in t.num_formats else None
        cell_formats.append(f)
        columns.append({"header": h, "format": f} if f else {"header": h})
    ws.add_table(0, 0, len(t.rows), len(t.headers) - 1, {
        "name": "DataTable", "style": "Table Style Medium 2", "columns": columns})
    for c, width in enumerate(t.widths):
        ws.set_column(c, c, width)
    for r, row in enumerate(t.rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, dt.date):
                ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), cell_formats[c])
            else:
                ws.write(r, c, value, cell_formats[c])
    for header, note in t.notes.items():
        ws.write_comment(0, t.headers.index(header), note, {"x_scale": 1.6, "y_scale": 0.8})
    ws.freeze_panes(1, 0)


def build_all(out_dir: Path) -> list[Path]:
    from sheetdl.new import TEMPLATES

    specs = {t.name: t for t in TEMPLATE_SPECS}
    assert set(specs) == set(TEMPLATES), "the templates here and in sheetdl/new/templates.py differ"
    return [build_template(specs[name], Path(out_dir) / f"{name}.xlsx") for name in TEMPLATES]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0]) if argv else PACKAGE_DIR
    for path in build_all(out_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
