"""Results of a run, and ``layout``: where in the workbook each result goes, as SheetEdits.

CONTRACT: the engine fills :class:`Results`; ``layout(results, table)`` returns the list of
SheetEdits that every backend (files, xlwings, Office.js) applies the same way.
All per-row arrays are aligned with ``table.values`` rows (same order, same length).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .edits import AddChart, AddSheet, ColorScale, Edit, FormatRange, SetColumnWidth, SetRowHeight, WriteCells
from .errors import OutputError
from .schema import Schema
from .table import column_letter

__all__ = [
    "Importance",
    "CurvePoint",
    "Results",
    "layout",
    "layout_not_carried_over",
    "importance_words",
    "REPORT_SHEET",
    "IMPORTANCE_SHEET",
    "IMAGES_SHEET",
    "PictureRow",
]


@dataclass
class Importance:
    column: str
    #: mean drop of the score (accuracy for classification, R² for regression) when the column's
    #: values are shuffled among held-out rows; 0 means the model does not use it
    drop: float
    #: standard deviation of that drop over repeats and folds
    spread: float
    kind: str = ""


@dataclass
class CurvePoint:
    epoch: int
    train_loss: float
    valid_loss: float
    #: validation score (accuracy or R²) after this epoch
    valid_score: float


@dataclass
class PictureRow:
    """One row shown on the Images sheet: its picture and where the model looked."""

    row: int  # 0-based position in the table
    column: str  # the picture column
    path: str  # the cell as written
    why: str  # "wrong" (a labelled row the model got wrong) | "unsure" (least confident)
    label: Any  # the row's target value, None if blank
    prediction: Any
    confidence: float | None  # classification: probability of the prediction
    thumbnail: bytes | None  # PNG of the picture
    heatmap: bytes | None  # PNG of the picture with the saliency heat map over it


@dataclass
class Results:
    schema: Schema
    # ---- per row --------------------------------------------------------------------------
    #: the prediction for every row, as the user would write it (labels keep their type)
    prediction: list[Any]
    #: True where the row's target cell was filled (its prediction is out-of-fold)
    labelled: np.ndarray
    #: classification: probability of the predicted class (0-1); None for regression
    confidence: np.ndarray | None = None
    #: classification: (n_rows, n_classes) probabilities in ``schema.classes`` order
    probabilities: np.ndarray | None = None
    #: regression: prediction interval (None until the accuracy issue adds it)
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    #: regression: the share of rows the interval aims to hold (0.9), and the share of held-out rows
    #: whose true value it did hold
    interval_level: float | None = None
    interval_coverage: float | None = None
    #: plain-words reasons for each row's prediction ("Flipper length 210 mm raised it…"), or None
    reasons: list[str] | None = None
    # ---- model-level ----------------------------------------------------------------------
    #: held-out (out-of-fold) scores of the model, keyed by metric name (see evaluate.METRIC_NAMES)
    metrics: dict[str, float] = field(default_factory=dict)
    #: the same scores for the naive baseline (majority class / mean)
    baseline: dict[str, float] = field(default_factory=dict)
    #: how the baseline guesses, in words: "always guessing 'No'" / "always guessing the average, 4,202"
    baseline_description: str = ""
    #: classification: rows = actual class, columns = predicted class, in ``schema.classes`` order
    confusion: np.ndarray | None = None
    #: classification: held-out rows binned by confidence — dicts with low, high (bin edges, 0-1),
    #: rows, confidence (average in the bin) and accuracy (share right in the bin)
    reliability: list[dict] | None = None
    #: training curve (mean over folds per epoch)
    curve: list[CurvePoint] = field(default_factory=list)
    importance: list[Importance] = field(default_factory=list)
    #: settings used, in the user's words: {"Target column": "Churn", "Time budget (seconds)": "60", …}
    settings: dict[str, str] = field(default_factory=dict)
    #: facts about the run: {"Device": "CPU (2 threads)", "Training time": "12.3 s", "Folds": "5", …}
    run_info: dict[str, str] = field(default_factory=dict)
    #: remarks collected along the way (header found on row 3, 12 text cells in 'Price' read as blank…)
    notes: list[str] = field(default_factory=list)
    #: parts of the input workbook the writer could not carry over (filled by the writer)
    not_carried_over: list[str] = field(default_factory=list)
    #: picture columns: the rows shown with their pictures and heat maps on the Images sheet
    pictures: list[PictureRow] = field(default_factory=list)
    #: picture columns: how the pictures were read, in words, per column
    picture_models: dict[str, str] = field(default_factory=dict)
    #: classification: predictions less sure than this (0–1) are marked "Check"; None = no marks
    review_threshold: float | None = None

    @property
    def to_review(self) -> np.ndarray | None:
        """Rows whose prediction a person should check (confidence below the review threshold)."""
        if self.review_threshold is None or self.confidence is None:
            return None
        return np.asarray(self.confidence, dtype=float) < self.review_threshold

    @property
    def task(self) -> str:
        return self.schema.task

    @property
    def target(self) -> str:
        return self.schema.target



# =================================================================================================
# layout: where each result goes. Pure function of Results + Table (+ the sheet names already taken);
# every backend applies the returned edits the same way.
# =================================================================================================

REPORT_SHEET = "SheetDL Report"
IMPORTANCE_SHEET = "SheetDL Importance"
IMAGES_SHEET = "SheetDL Images"
#: most rows in one WriteCells block (Excel on the web takes ~5 MB a request: 5k-20k rows)
MAX_BLOCK_ROWS = 5000
#: most ranges in one multi-area FormatRange (Excel's getRanges takes an address of ≤ 8,192 characters)
MAX_AREAS = 400
#: a sentence longer than this continues on the next row of the report
WRAP_AT = 160
#: Excel's last column (XFD)
_MAX_COL = 16384

# colours (RRGGBB)
_HEADER_FILL = "DDEBF7"  # light blue: header cells SheetDL wrote
_FILLED_FILL = "FFF2CC"  # light yellow: predictions for rows whose target was blank
_REVIEW_FILL = "F8CBAD"  # light orange: predictions a person should check
#: what the Review column says for a prediction below the review threshold
REVIEW_MARK = "Check"
_HEADING_COLOR = "1F4E79"
_MUTED_COLOR = "595959"

#: metric key → (display name, "higher"/"lower" is better, what it means)
METRIC_INFO: dict[str, tuple[str, str, str]] = {
    "accuracy": ("Accuracy", "higher", "share of rows predicted right"),
    "balanced_accuracy": (
        "Balanced accuracy", "higher",
        "accuracy averaged over the classes, so rare classes count as much as common ones"),
    "auc": ("AUC", "higher", "how well it ranks one class above the other: 0.5 is a coin toss, 1 is perfect"),
    "log_loss": ("Log loss", "lower", "punishes confident mistakes; 0 is perfect"),
    "mae": ("Mean absolute error (MAE)", "lower", "how far off a prediction is, on average"),
    "rmse": ("Root mean squared error (RMSE)", "lower", "like MAE, but big misses count more"),
    "r2": ("R²", "higher", "share of the variation explained: 1 is perfect, 0 is no better than the average"),
}
_METRIC_ORDER = ("accuracy", "balanced_accuracy", "auc", "log_loss", "mae", "rmse", "r2")

#: importance in words: "strong" at ≥ half the top drop (and ≥ STRONG_MIN), "some" at ≥ a tenth of
#: it (or ≥ SOME_MIN), "none" at or below NONE_MAX (0.1 points of accuracy / R²), else "little"
IMPORTANCE_STRONG_SHARE = 0.5
IMPORTANCE_STRONG_MIN = 0.02
IMPORTANCE_SOME_SHARE = 0.1
IMPORTANCE_SOME_MIN = 0.01
IMPORTANCE_NONE_MAX = 0.001

_ROLE_WORDS = {"target": "Predicted (the target)", "feature": "Used as input", "ignored": "Ignored"}


def layout(results: Results, table, existing_sheets: Sequence[str] = ()) -> list[Edit]:
    """The edits that put ``results`` into the workbook ``table`` came from.

    - on the data sheet, new columns right of everything the sheet uses: ``Predicted <target>``,
      ``Confidence`` (classification), ``Low``/``High`` (regression interval), ``Why`` (reasons);
      predictions for rows whose target was blank are shaded yellow;
    - a ``SheetDL Report`` sheet (what the model achieved, in words and numbers, how each column was
      used, the training curve, settings, run facts, notes);
    - a ``SheetDL Importance`` sheet when importances were computed.

    ``existing_sheets`` are the workbook's sheet names; new sheets get a number ("SheetDL Report 2")
    rather than replace anything.
    """
    report_name, importance_name, images_name = _sheet_names(existing_sheets)
    edits: list[Edit] = []
    data_edits, pred_col = _data_sheet(results, table)
    edits += data_edits
    report_edits, _ = _report(results, table, report_name, pred_col)
    edits += report_edits
    if results.importance:
        edits += _importance(results, importance_name)
    if results.pictures:
        from .images_sheet import images_sheet

        edits += images_sheet(results, table, images_name)
    return edits


def summary_sentences(results: Results, table) -> list[str]:
    """The report's opening sentences, for a terminal or a task pane."""
    regression = results.task == "regression"
    decimals = _decimals(results.prediction) if regression else 2
    return _summary(results, table, _prediction_col(table), decimals)


def layout_not_carried_over(
    results: Results, table, lost: Sequence[str], existing_sheets: Sequence[str] = ()
) -> list[Edit]:
    """The "Could not be carried over" section alone, for a writer that learns what it lost only
    after ``layout`` ran: it goes at the end of the report, so nothing else moves.

    ``existing_sheets`` must be the names passed to ``layout`` (so the report's name is the same).
    """
    if not lost:
        return []
    report_name = _sheet_names(existing_sheets)[0]
    without = replace(results, not_carried_over=[])
    _, next_row = _report(without, table, report_name, _prediction_col(table))
    sheet = _Sheet(report_name, next_row)
    _lost_section(sheet, lost)
    return sheet.edits


# ---- the data sheet -----------------------------------------------------------------------------


def _prediction_col(table) -> int:
    return max(table.last_col, table.sheet_max_col or 0) + 1


def _data_sheet(results: Results, table) -> tuple[list[Edit], int]:
    sheet = table.sheet
    start = _prediction_col(table)
    n = len(results.prediction)
    if n != len(table.sheet_rows):
        raise ValueError(f"{n} predictions for {len(table.sheet_rows)} table rows")

    regression = results.task == "regression"
    decimals = _decimals(results.prediction) if regression else 0
    reg_format = _number_format(decimals)

    headers: list[str] = [f"Predicted {results.target}"]
    columns: list[list[Any]] = []
    formats: list[str | None] = []
    widths: list[float] = []
    centred: list[int] = []  # columns to centre (a number next to text reads better)

    if regression:
        preds = [_round(v, decimals) for v in results.prediction]
        formats.append(reg_format)
    else:
        preds = [_native(v) for v in results.prediction]
        formats.append(None)
    columns.append(preds)
    widths.append(_text_width([headers[0]] + preds[:2000], lo=12, hi=40))

    if results.confidence is not None:
        headers.append("Confidence")
        columns.append([_native(v) for v in np.asarray(results.confidence, dtype=float)])
        formats.append("0%")
        widths.append(12)
        centred.append(len(headers) - 1)
    review = results.to_review
    if review is not None:
        headers.append("Review")
        columns.append([REVIEW_MARK if r else None for r in review])
        formats.append(None)
        widths.append(9)
        centred.append(len(headers) - 1)
    if results.low is not None and results.high is not None:
        for name, arr in (("Low", results.low), ("High", results.high)):
            headers.append(name)
            columns.append([_round(v, decimals) for v in arr])
            formats.append(reg_format)
            widths.append(max(10, widths[0] * 0.8))
    if results.reasons is not None:
        headers.append("Why")
        columns.append([None if r is None else str(r) for r in results.reasons])
        formats.append(None)
        widths.append(60)

    last = start + len(headers) - 1
    if last > _MAX_COL:
        raise OutputError(
            f"Sheet '{sheet}' has no room right of its data for SheetDL's {len(headers)} result columns.",
            hint="Move or delete some columns at the far right of the sheet, or copy the table to a new sheet.",
            sheet=sheet,
        )

    hr = int(table.header_row or 1)
    edits: list[Edit] = [
        WriteCells(sheet, hr, start, [headers], bold_first_row=True),
        FormatRange(sheet, f"{_ref(hr, start)}:{_ref(hr, last)}", bold=True, fill=_HEADER_FILL,
                    border_bottom=True),
    ]
    rows = [int(r) for r in table.sheet_rows]
    for i, j in _runs(rows):
        for a in range(i, j, MAX_BLOCK_ROWS):  # blocks small enough for one Office.js request
            b = min(j, a + MAX_BLOCK_ROWS)
            block = [[col[k] for col in columns] for k in range(a, b)]
            edits.append(WriteCells(sheet, rows[a], start, block, number_formats=list(formats)))
    labelled = np.asarray(results.labelled, dtype=bool)
    blank_rows = [r for r, lab in zip(rows, labelled) if not lab]
    areas = [f"{_ref(blank_rows[i], start)}:{_ref(blank_rows[j - 1], start)}" for i, j in _runs(blank_rows)]
    for a in range(0, len(areas), MAX_AREAS):
        edits.append(FormatRange(sheet, ",".join(areas[a:a + MAX_AREAS]), fill=_FILLED_FILL))
    if review is not None:
        k = headers.index("Review")
        marked = [r for r, m in zip(rows, review) if m]
        areas = [f"{_ref(marked[i], start + k)}:{_ref(marked[j - 1], start + k)}" for i, j in _runs(marked)]
        for a in range(0, len(areas), MAX_AREAS):
            edits.append(FormatRange(sheet, ",".join(areas[a:a + MAX_AREAS]), fill=_REVIEW_FILL, bold=True))
    if rows:  # one range from the first to the last row: cells between runs are ours and empty
        for k in centred:
            edits.append(FormatRange(sheet, f"{_ref(min(rows), start + k)}:{_ref(max(rows), start + k)}",
                                     horizontal="center"))
    for k, w in enumerate(widths):
        edits.append(SetColumnWidth(sheet, start + k, round(w, 1)))
    return edits, start


def _runs(rows: Sequence[int]) -> list[tuple[int, int]]:
    """[i, j) index ranges of ``rows`` whose sheet rows follow one another."""
    out = []
    i = 0
    for k in range(1, len(rows) + 1):
        if k == len(rows) or rows[k] != rows[k - 1] + 1:
            out.append((i, k))
            i = k
    return out


# ---- the report sheet ---------------------------------------------------------------------------


class _Sheet:
    """Writes a sheet top to bottom, keeping the next free row."""

    def __init__(self, name: str, row: int = 1) -> None:
        self.name = name
        self.row = row
        self.edits: list[Edit] = []

    def title(self, text: str) -> None:
        self.edits.append(WriteCells(self.name, self.row, 1, [[text]]))
        self.edits.append(FormatRange(self.name, _ref(self.row, 1), bold=True, font_size=16,
                                      font_color=_HEADING_COLOR))
        self.edits.append(SetRowHeight(self.name, self.row, 24))
        self.row += 1

    def heading(self, text: str) -> None:
        self.edits.append(WriteCells(self.name, self.row, 1, [[text]]))
        self.edits.append(FormatRange(self.name, _ref(self.row, 1), bold=True, font_size=13,
                                      font_color=_HEADING_COLOR))
        self.edits.append(SetRowHeight(self.name, self.row, 20))
        self.row += 1

    def lines(self, texts: Sequence[str], *, muted: bool = False, italic: bool = False) -> None:
        """Sentences one per row; a long one continues on the next rows (at most ``WRAP_AT``
        characters a row), so nothing runs far off the screen or shrinks the printed page."""
        texts = [part for t in texts for part in (textwrap.wrap(t, WRAP_AT, break_long_words=False,
                                                                break_on_hyphens=False) or [t])]
        if not texts:
            return
        self.edits.append(WriteCells(self.name, self.row, 1, [[t] for t in texts]))
        if muted or italic:
            self.edits.append(FormatRange(
                self.name, f"{_ref(self.row, 1)}:{_ref(self.row + len(texts) - 1, 1)}",
                italic=italic or None, font_color=_MUTED_COLOR if muted else None))
        self.row += len(texts)

    def table(self, header: list[str], rows: list[list[Any]], formats: list[str | None] | None = None,
              *, col: int = 1, bold_first_col: bool = False) -> tuple[int, int]:
        """A header row and its data rows; returns (header row, last row)."""
        top = self.row
        values = [list(header)] + [[_native(v) for v in r] for r in rows]
        self.edits.append(WriteCells(self.name, top, col, values, number_formats=formats,
                                     bold_first_row=True))
        last_col = col + len(header) - 1
        self.edits.append(FormatRange(self.name, f"{_ref(top, col)}:{_ref(top, last_col)}",
                                      fill=_HEADER_FILL, border_bottom=True))
        if bold_first_col and rows:
            self.edits.append(FormatRange(self.name, f"{_ref(top + 1, col)}:{_ref(top + len(rows), col)}",
                                          bold=True))
        self.row = top + len(rows) + 1
        return top, top + len(rows)

    def center(self, first: int, last: int, col: int) -> None:
        """Centre a column of a table (numbers next to text read better)."""
        if last >= first:
            self.edits.append(FormatRange(self.name, f"{_ref(first, col)}:{_ref(last, col)}", horizontal="center"))

    def gap(self, n: int = 1) -> None:
        self.row += n


def _report(results: Results, table, name: str, pred_col: int) -> tuple[list[Edit], int]:
    s = _Sheet(name)
    s.edits.append(AddSheet(name))
    regression = results.task == "regression"
    decimals = _decimals(results.prediction) if regression else 2
    reg_format = _number_format(decimals)

    s.title(f"SheetDL report: predicting '{results.target}'")
    where = f"sheet '{table.sheet}'"
    if getattr(table, "source", ""):
        where += f" of {Path(str(table.source)).name}"
    reason = results.schema.task_reason.strip()
    s.lines([f"Data from {where}. Task: {reason}" + ("" if reason.endswith(".") else ".")],
            muted=True, italic=True)
    s.gap()

    s.heading("In plain words")
    s.lines(_summary(results, table, pred_col, decimals))
    s.gap()

    keys = [k for k in _METRIC_ORDER if k in results.metrics or k in results.baseline]
    keys += [k for k in results.metrics if k not in keys]
    if keys:
        s.heading("How well it did")
        s.lines(["Measured on rows the model did not train on (each row predicted by a model that had "
                 "not seen its answer)."], muted=True)
        rows, fmts = [], []
        for k in keys:
            label, better, meaning = METRIC_INFO.get(k, (k, "", ""))
            rows.append([label, _metric_value(results.metrics.get(k)), _metric_value(results.baseline.get(k)),
                         better, meaning])
            fmts.append(_metric_format(k, reg_format))
        top, last = s.table(["Measure", "Model", "Naive baseline", "Better is", "What it means"], rows,
                            bold_first_col=True)
        s.center(top, last, 4)
        # one number format per row, so format the value cells row by row
        for i, fmt in enumerate(fmts):
            if fmt:
                r = top + 1 + i
                s.edits.append(FormatRange(name, f"{_ref(r, 2)}:{_ref(r, 3)}", number_format=fmt))
        if results.baseline_description:
            s.lines([f"Naive baseline: {results.baseline_description}."], muted=True)
        s.gap()

    if not regression and results.confusion is not None and results.schema.classes:
        classes = [_native(c) for c in results.schema.classes]
        cm = np.asarray(results.confusion)
        s.heading("Confusion matrix")
        s.lines(["Rows are the actual values, columns what the model predicted, counted on rows it did "
                 "not train on. The diagonal is where it was right."], muted=True)
        header = ["Actual ↓   Predicted →"] + classes
        body = [[c] + [int(x) for x in cm[i]] for i, c in enumerate(classes)]
        top, last = s.table(header, body, bold_first_col=True)
        n = len(classes)
        s.edits.append(FormatRange(name, f"{_ref(top, 2)}:{_ref(top, 1 + n)}", horizontal="center", wrap=True))
        s.edits.append(FormatRange(name, f"{_ref(top + 1, 2)}:{_ref(last, 1 + n)}", horizontal="center",
                                   number_format="#,##0"))
        s.edits.append(ColorScale(name, f"{_ref(top + 1, 2)}:{_ref(last, 1 + n)}",
                                  min_color="FFFFFF", max_color="5B9BD5"))
        s.gap()

    if not regression and results.reliability:
        s.heading("Is the confidence honest?")
        s.lines(["Rows the model did not train on, grouped by its Confidence. When confidence means what it "
                 "says, the two percentages in a row are close."], muted=True)
        body = [[f"{_pct(b['low'])}–{_pct(b['high'])}", int(b["rows"]), float(b["confidence"]),
                 float(b["accuracy"])] for b in results.reliability]
        top, last = s.table(["Confidence", "Rows", "Average confidence", "Actually right"], body,
                            [None, "#,##0", "0%", "0%"])
        s.center(top, last, 2)
        s.gap()

    s.heading("Columns")
    col_rows = [[c.name, c.kind, c.n_missing, _used(c)] for c in results.schema.columns]
    top, last = s.table(["Column", "Kind", "Blank cells", "How it was used"], col_rows, [None, None, "#,##0", None])
    s.center(top, last, 3)
    s.gap()

    if results.curve:
        score_name = "R²" if regression else "accuracy"
        s.heading("Training curve")
        s.lines(["Loss is the model's error while it learns: lower is better. If the validation loss "
                 "climbs while the training loss keeps falling, the model is memorising the training rows."],
                muted=True)
        body = [[p.epoch, p.train_loss, p.valid_loss, p.valid_score] for p in results.curve]
        top, last = s.table(["Epoch", "Training loss", "Validation loss", f"Validation {score_name}"], body,
                            [None, "0.0000", "0.0000", "0.0%" if not regression else "0.000"])
        s.center(top, last, 1)
        chart_rows = 16  # a 7.5 cm chart spans about 15 default rows
        n = len(results.curve)
        s.edits.append(AddChart(
            name, "line", "Loss while training",
            series=[f"{_ref(top, 2)}:{_ref(last, 2)}", f"{_ref(top, 3)}:{_ref(last, 3)}"],
            categories=f"{_ref(top + 1, 1)}:{_ref(last, 1)}", anchor=_ref(top, 7),
            x_title="Epoch", y_title="Loss", width=16, height=7.5, value_format="0.00",
            category_label_step=_label_step(n),
        ))
        s.row = max(s.row, top + chart_rows)
        s.gap()

    for heading, mapping in (("Settings used", results.settings), ("About this run", results.run_info)):
        if mapping:
            s.heading(heading)
            s.table(["Setting" if heading == "Settings used" else "Item", "Value"],
                    [[k, _native(v)] for k, v in mapping.items()], bold_first_col=True)
            s.gap()

    notes = list(getattr(table, "notes", []) or [])
    notes += [n for n in results.notes if n not in notes]
    if notes:
        s.heading("Notes")
        s.lines([n if n.startswith(" ") else f"• {n}" for n in notes])  # indented: a note's sub-item
        s.gap()

    next_row = s.row
    if results.not_carried_over:
        _lost_section(s, results.not_carried_over)

    for col, width in ((1, 34), (2, 16), (3, 19), (4, 16), (5, 16)):  # 19: 'Average confidence'
        s.edits.append(SetColumnWidth(name, col, width))
    n_classes = len(results.schema.classes or []) if not regression else 0
    for col in range(6, 2 + n_classes):
        s.edits.append(SetColumnWidth(name, col, 14))
    return s.edits, next_row


def _lost_section(s: _Sheet, lost: Sequence[str]) -> None:
    s.heading("Could not be carried over")
    s.lines(["SheetDL could not copy these parts of your workbook into this file. They are still in your "
             "original workbook, which SheetDL did not change:"], muted=True)
    s.lines([f"• {x}" for x in lost])
    s.edits.append(FormatRange(s.name, f"{_ref(s.row - len(lost), 1)}:{_ref(s.row - 1, 1)}",
                               font_color="C00000"))
    s.gap()


def _summary(results: Results, table, pred_col: int, decimals: int) -> list[str]:
    """A few sentences a person can read aloud."""
    out: list[str] = []
    m, b = results.metrics, results.baseline
    desc = results.baseline_description.strip().rstrip(".")
    if results.task == "classification":
        acc = m.get("accuracy")
        if acc is not None:
            text = f"On rows it did not train on, the model was right {_pct(acc)} of the time"
            if b.get("accuracy") is not None:
                text += f"; {desc or 'always guessing the most common value'} would be right {_pct(b['accuracy'])}"
            out.append(text + ".")
            if b.get("accuracy") is not None and acc <= b["accuracy"]:
                out.append("That is no better than the naive guess, so don't rely on its predictions yet.")
        auc = m.get("auc")
        if auc is not None:
            out.append(f"Given one row of each class, it tells which is which {_pct(auc)} of the time "
                       f"(AUC {auc:.2f}; 0.5 is a coin toss, 1 is perfect).")
    else:
        mae = m.get("mae")
        if mae is not None:
            text = (f"On rows it did not train on, the model's predictions were off by "
                    f"{_num(mae, decimals)} on average (MAE)")
            if b.get("mae") is not None:
                who = desc or "always guessing the average"
                if "," in who:
                    who += ","
                text += f"; {who} would be off by {_num(b['mae'], decimals)}"
            out.append(text + ".")
        r2 = m.get("r2")
        if r2 is not None:
            if r2 > 0:
                out.append(f"It explains {_pct(r2)} of the variation in '{results.target}' (R² {r2:.2f}).")
            else:
                out.append(f"It does no better than always guessing the average (R² {r2:.2f}), so don't rely "
                           "on its predictions yet.")
        if results.low is not None and results.high is not None:
            if results.interval_coverage is not None and results.interval_level is not None:
                out.append(f"Low and High give a likely range for each prediction: on rows the model did not "
                           f"train on, the true value fell inside it {_pct(results.interval_coverage)} of the "
                           f"time (it aims at {_pct(results.interval_level)}).")
            else:
                out.append("Low and High give a likely range for each prediction.")

    letter = column_letter(pred_col)
    labelled = np.asarray(results.labelled, dtype=bool)
    n_blank = int((~labelled).sum())
    n_done = int(labelled.sum())
    where = f"column {letter} of sheet '{table.sheet}'"
    if n_blank:
        out.append(f"It filled in {_count(n_blank, 'row')} whose '{results.target}' was blank "
                   f"({where}, shaded yellow).")
        if n_done:
            out.append(f"For the other {_count(n_done, 'row')}, {where} shows what it predicted without "
                       "having seen their answer, so you can compare.")
    else:
        out.append(f"No row had a blank '{results.target}', so there was nothing to fill in; {where} shows "
                   "what it predicted for each row without having seen its answer.")
    review = results.to_review
    if review is not None:
        n_check = int(review.sum())
        col = column_letter(pred_col + 2)  # Predicted, Confidence, Review
        threshold = _pct(results.review_threshold)
        if n_check:
            out.append(f"{_count(n_check, 'prediction')} {'is' if n_check == 1 else 'are'} less sure than your review "
                       f"threshold of {threshold} and marked '{REVIEW_MARK}' in column {col}: worth a person's look.")
        else:
            out.append(f"Every prediction is at least {threshold} sure (your review threshold), so none is marked "
                       f"'{REVIEW_MARK}'.")
    return out


def _used(c) -> str:
    role = _ROLE_WORDS.get(c.role, c.role)
    return f"{role}: {c.reason}" if c.reason else role


def _metric_format(key: str, reg_format: str) -> str | None:
    if key in ("accuracy", "balanced_accuracy"):
        return "0.0%"
    if key in ("auc", "log_loss"):
        return "0.000"
    if key in ("mae", "rmse"):
        return reg_format
    if key == "r2":
        return "0.00"
    return "0.000"


def _metric_value(v):
    v = _native(v)
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


# ---- the importance sheet -----------------------------------------------------------------------


def importance_words(drop: float, top: float) -> str:
    """'strong' / 'some' / 'little' / 'none' for a drop in score, relative to the largest drop."""
    if not np.isfinite(drop) or drop <= IMPORTANCE_NONE_MAX:
        return "none"
    if drop >= IMPORTANCE_STRONG_SHARE * top and drop >= IMPORTANCE_STRONG_MIN:
        return "strong"
    if drop >= IMPORTANCE_SOME_SHARE * top or drop >= IMPORTANCE_SOME_MIN:
        return "some"
    return "little"


def _importance(results: Results, name: str) -> list[Edit]:
    s = _Sheet(name)
    s.edits.append(AddSheet(name))
    regression = results.task == "regression"
    score = "R²" if regression else "accuracy"
    fmt = "0.000" if regression else "0.0%"
    items = sorted(results.importance, key=lambda i: (-_finite(i.drop), i.column))
    top = max((_finite(i.drop) for i in items), default=0.0)

    s.title("What the model relies on")
    s.lines([f"Importance is how much the model's {score} on rows it did not train on drops when a column's "
             "values are shuffled, so the model can no longer use them.",
             "0 means the model does not use the column; Spread shows how much the drop varied between "
             "repeats."], muted=True)
    s.gap()
    kinds = {c.name: c.kind for c in results.schema.columns}
    body = [[i.column, i.kind or kinds.get(i.column, ""), i.drop, i.spread, importance_words(i.drop, top)]
            for i in items]
    first, last = s.table(["Column", "Kind", f"Importance (drop in {score})", "Spread (±)", "In words"], body,
                          [None, None, fmt, fmt, None], bold_first_col=True)
    s.center(first, last, 5)
    n = len(items)
    s.edits.append(AddChart(
        name, "bar", "Importance",
        series=[f"{_ref(first, 3)}:{_ref(last, 3)}"], categories=f"{_ref(first + 1, 1)}:{_ref(last, 1)}",
        anchor=_ref(first, 7), x_title=None, y_title=f"Drop in {score}", width=16,
        height=round(min(40.0, max(7.5, 0.6 * n + 2.5)), 1), legend=False, reverse_categories=True,
        value_format="0.00" if regression else "0%",
    ))
    for col, width in ((1, 28), (2, 12), (3, 30), (4, 12), (5, 12)):
        s.edits.append(SetColumnWidth(name, col, width))
    return s.edits


# ---- helpers ------------------------------------------------------------------------------------


def _sheet_names(existing: Sequence[str]) -> tuple[str, str, str]:
    """The first free set: ("SheetDL Report", "SheetDL Importance", "SheetDL Images"), then "… 2",
    "… 3" … (Excel compares sheet names without regard to case)."""
    taken = {str(n).casefold() for n in existing}
    k = 1
    while True:
        suffix = "" if k == 1 else f" {k}"
        pair = (REPORT_SHEET + suffix, IMPORTANCE_SHEET + suffix, IMAGES_SHEET + suffix)
        if not any(p.casefold() in taken for p in pair):
            return pair
        k += 1


def _ref(row: int, col: int) -> str:
    return f"{column_letter(col)}{row}"


def _native(v: Any) -> Any:
    """A plain Python value for a cell: numpy scalars unwrapped, NaN/NaT → None."""
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.to_pydatetime()
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v).to_pydatetime()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _finite(v) -> float:
    v = _native(v)
    return float(v) if isinstance(v, int | float) else float("-inf")


def _decimals(values) -> int:
    """Decimals that show a regression prediction sensibly: about three significant digits of its
    spread (house prices → whole numbers; a 0-5 rating → 2 decimals)."""
    arr = np.array([_native(v) for v in values], dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return 2
    scale = float(np.std(arr)) or float(np.median(np.abs(arr)))
    if scale <= 0:
        return 2
    return int(min(6, max(0, 2 - math.floor(math.log10(scale)))))


def _round(v, decimals: int):
    v = _native(v)
    if not isinstance(v, int | float) or isinstance(v, bool):
        return v
    r = round(float(v), decimals)
    return int(r) if decimals == 0 else r


def _number_format(decimals: int) -> str:
    return "#,##0" if decimals == 0 else "#,##0." + "0" * decimals


def _num(v: float, decimals: int) -> str:
    return f"{v:,.{decimals}f}"


def _pct(v: float) -> str:
    """81% — with one decimal near the ends, so 99.6% is not shown as 100%."""
    if 0.99 < v < 1 or 0 < v < 0.01:
        return f"{v:.1%}"
    return f"{v:.0%}"


def _label_step(n: int) -> int | None:
    """Label about 10-15 epochs on a chart's axis, at a round step."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if n / step <= 15:
            return None if step == 1 else step
    return n // 10


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _text_width(values: Sequence[Any], lo: float, hi: float) -> float:
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    return float(min(hi, max(lo, longest + 2)))
