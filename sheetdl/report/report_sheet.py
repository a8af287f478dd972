"""The ``SheetDL Report`` sheet: what the model achieved, in words and numbers.

Top to bottom: the summary in plain words (also shown in a terminal or task pane, see
``results.summary_sentences``), the metric table against the naive baseline, the confusion matrix and
the confidence check (classification), how each column was used, the training curve and its chart,
the settings, facts about the run, notes, and what could not be carried over. ``SheetWriter`` writes a
sheet top to bottom and is shared with the importance sheet.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import Results
from ..sheets import (
    AddChart,
    AddSheet,
    ColorScale,
    Edit,
    FormatRange,
    SetColumnWidth,
    SetRowHeight,
    WriteCells,
    column_letter,
)
from .cells import HEADER_FILL, HEADING_COLOR, MUTED_COLOR, cell_ref, decimals_for, native, number_format
from .data_columns import REVIEW_MARK

#: a sentence longer than this continues on the next row of the report
WRAP_AT = 160

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

_ROLE_WORDS = {"target": "Predicted (the target)", "feature": "Used as input", "ignored": "Ignored"}


class SheetWriter:
    """Writes a sheet top to bottom, keeping the next free row."""

    def __init__(self, name: str, row: int = 1) -> None:
        self.name = name
        self.row = row
        self.edits: list[Edit] = []

    def title(self, text: str) -> None:
        self.edits.append(WriteCells(self.name, self.row, 1, [[text]]))
        self.edits.append(FormatRange(self.name, cell_ref(self.row, 1), bold=True, font_size=16,
                                      font_color=HEADING_COLOR))
        self.edits.append(SetRowHeight(self.name, self.row, 24))
        self.row += 1

    def heading(self, text: str) -> None:
        self.edits.append(WriteCells(self.name, self.row, 1, [[text]]))
        self.edits.append(FormatRange(self.name, cell_ref(self.row, 1), bold=True, font_size=13,
                                      font_color=HEADING_COLOR))
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
                self.name, f"{cell_ref(self.row, 1)}:{cell_ref(self.row + len(texts) - 1, 1)}",
                italic=italic or None, font_color=MUTED_COLOR if muted else None))
        self.row += len(texts)

    def table(self, header: list[str], rows: list[list[Any]], formats: list[str | None] | None = None,
              *, col: int = 1, bold_first_col: bool = False) -> tuple[int, int]:
        """A header row and its data rows; returns (header row, last row)."""
        top = self.row
        values = [list(header)] + [[native(v) for v in r] for r in rows]
        self.edits.append(WriteCells(self.name, top, col, values, number_formats=formats,
                                     bold_first_row=True))
        last_col = col + len(header) - 1
        self.edits.append(FormatRange(self.name, f"{cell_ref(top, col)}:{cell_ref(top, last_col)}",
                                      fill=HEADER_FILL, border_bottom=True))
        if bold_first_col and rows:
            self.edits.append(FormatRange(self.name, f"{cell_ref(top + 1, col)}:{cell_ref(top + len(rows), col)}",
                                          bold=True))
        self.row = top + len(rows) + 1
        return top, top + len(rows)

    def center(self, first: int, last: int, col: int) -> None:
        """Centre a column of a table (numbers next to text read better)."""
        if last >= first:
            self.edits.append(FormatRange(self.name, f"{cell_ref(first, col)}:{cell_ref(last, col)}",
                                          horizontal="center"))

    def gap(self, n: int = 1) -> None:
        self.row += n


def report_sheet(results: Results, table, name: str, pred_col: int) -> tuple[list[Edit], int]:
    """The report's edits, and the row after its last section (where what could not be carried over
    goes, when a writer learns that later)."""
    s = SheetWriter(name)
    s.edits.append(AddSheet(name))
    regression = results.task == "regression"
    decimals = decimals_for(results.prediction) if regression else 2
    _opening(s, results, table, pred_col, decimals)
    _scores(s, results, number_format(decimals))
    if not regression and results.confusion is not None and results.schema.classes:
        _confusion(s, results)
    if not regression and results.reliability:
        _reliability(s, results)
    _columns(s, results)
    if results.curve:
        _curve(s, results)
    for heading, mapping in (("Settings used", results.settings), ("About this run", results.run_info)):
        if mapping:
            s.heading(heading)
            s.table(["Setting" if heading == "Settings used" else "Item", "Value"],
                    [[k, native(v)] for k, v in mapping.items()], bold_first_col=True)
            s.gap()
    _notes(s, results, table)
    next_row = s.row
    if results.not_carried_over:
        lost_section(s, results.not_carried_over)
    for col, width in ((1, 34), (2, 16), (3, 19), (4, 16), (5, 16)):  # 19: 'Average confidence'
        s.edits.append(SetColumnWidth(name, col, width))
    n_classes = len(results.schema.classes or []) if not regression else 0
    for col in range(6, 2 + n_classes):
        s.edits.append(SetColumnWidth(name, col, 14))
    return s.edits, next_row


def _opening(s: SheetWriter, results: Results, table, pred_col: int, decimals: int) -> None:
    """The title, where the data came from, and the summary in plain words."""
    s.title(f"SheetDL report: predicting '{results.target}'")
    where = f"sheet '{table.sheet}'"
    if getattr(table, "source", ""):
        where += f" of {Path(str(table.source)).name}"
    reason = results.schema.task_reason.strip()
    s.lines([f"Data from {where}. Task: {reason}" + ("" if reason.endswith(".") else ".")],
            muted=True, italic=True)
    s.gap()
    s.heading("In plain words")
    s.lines(summary(results, table, pred_col, decimals))
    s.gap()


def _scores(s: SheetWriter, results: Results, reg_format: str) -> None:
    """The metric table, the model against the naive baseline."""
    keys = [k for k in _METRIC_ORDER if k in results.metrics or k in results.baseline]
    keys += [k for k in results.metrics if k not in keys]
    if not keys:
        return
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
            s.edits.append(FormatRange(s.name, f"{cell_ref(r, 2)}:{cell_ref(r, 3)}", number_format=fmt))
    if results.baseline_description:
        s.lines([f"Naive baseline: {results.baseline_description}."], muted=True)
    s.gap()


def _confusion(s: SheetWriter, results: Results) -> None:
    """Classification: actual against predicted, on held-out rows, shaded by count."""
    name = s.name
    classes = [native(c) for c in results.schema.classes or []]
    cm = np.asarray(results.confusion)
    s.heading("Confusion matrix")
    s.lines(["Rows are the actual values, columns what the model predicted, counted on rows it did "
             "not train on. The diagonal is where it was right."], muted=True)
    header = ["Actual ↓   Predicted →"] + classes
    body = [[c] + [int(x) for x in cm[i]] for i, c in enumerate(classes)]
    top, last = s.table(header, body, bold_first_col=True)
    n = len(classes)
    s.edits.append(FormatRange(name, f"{cell_ref(top, 2)}:{cell_ref(top, 1 + n)}", horizontal="center", wrap=True))
    s.edits.append(FormatRange(name, f"{cell_ref(top + 1, 2)}:{cell_ref(last, 1 + n)}", horizontal="center",
                               number_format="#,##0"))
    s.edits.append(ColorScale(name, f"{cell_ref(top + 1, 2)}:{cell_ref(last, 1 + n)}",
                              min_color="FFFFFF", max_color="5B9BD5"))
    s.gap()


def _reliability(s: SheetWriter, results: Results) -> None:
    """Classification: is the confidence honest? Held-out rows binned by it."""
    s.heading("Is the confidence honest?")
    s.lines(["Rows the model did not train on, grouped by its Confidence. When confidence means what it "
             "says, the two percentages in a row are close."], muted=True)
    body = [[f"{_pct(b['low'])}–{_pct(b['high'])}", int(b["rows"]), float(b["confidence"]),
             float(b["accuracy"])] for b in results.reliability or []]
    top, last = s.table(["Confidence", "Rows", "Average confidence", "Actually right"], body,
                        [None, "#,##0", "0%", "0%"])
    s.center(top, last, 2)
    s.gap()


def _columns(s: SheetWriter, results: Results) -> None:
    """How each column was used, with its kind and blank cells."""
    s.heading("Columns")
    col_rows = [[c.name, c.kind, c.n_missing, _used(c)] for c in results.schema.columns]
    top, last = s.table(["Column", "Kind", "Blank cells", "How it was used"], col_rows, [None, None, "#,##0", None])
    s.center(top, last, 3)
    s.gap()


#: rows a 7.5 cm chart spans (about 15 default rows)
CHART_ROWS = 16


def _curve(s: SheetWriter, results: Results) -> None:
    """The training curve: a table by epoch and a line chart of the losses beside it."""
    name = s.name
    regression = results.task == "regression"
    score_name = "R²" if regression else "accuracy"
    s.heading("Training curve")
    who = "the neural network's" if results.blend else "the model's"
    s.lines([f"Loss is {who} error while it learns: lower is better. If the validation loss "
             "climbs while the training loss keeps falling, the model is memorising the training rows."
             + (" The trees learn in another way and have no such curve." if results.blend else "")],
            muted=True)
    body = [[p.epoch, p.train_loss, p.valid_loss, p.valid_score] for p in results.curve]
    top, last = s.table(["Epoch", "Training loss", "Validation loss", f"Validation {score_name}"], body,
                        [None, "0.0000", "0.0000", "0.0%" if not regression else "0.000"])
    s.center(top, last, 1)
    n = len(results.curve)
    s.edits.append(AddChart(
        name, "line", "Loss while training",
        series=[f"{cell_ref(top, 2)}:{cell_ref(last, 2)}", f"{cell_ref(top, 3)}:{cell_ref(last, 3)}"],
        categories=f"{cell_ref(top + 1, 1)}:{cell_ref(last, 1)}", anchor=cell_ref(top, 7),
        x_title="Epoch", y_title="Loss", width=16, height=7.5, value_format="0.00",
        category_label_step=_label_step(n),
    ))
    s.row = max(s.row, top + CHART_ROWS)
    s.gap()


def _notes(s: SheetWriter, results: Results, table) -> None:
    """The table's notes, then the run's (a note's sub-items are indented)."""
    notes = list(getattr(table, "notes", []) or [])
    notes += [n for n in results.notes if n not in notes]
    if notes:
        s.heading("Notes")
        s.lines([n if n.startswith(" ") else f"• {n}" for n in notes])
        s.gap()


def lost_section(s: SheetWriter, lost: Sequence[str]) -> None:
    s.heading("Could not be carried over")
    s.lines(["SheetDL could not copy these parts of your workbook into this file. They are still in your "
             "original workbook, which SheetDL did not change:"], muted=True)
    s.lines([f"• {x}" for x in lost])
    s.edits.append(FormatRange(s.name, f"{cell_ref(s.row - len(lost), 1)}:{cell_ref(s.row - 1, 1)}",
                               font_color="C00000"))
    s.gap()


def summary(results: Results, table, pred_col: int, decimals: int) -> list[str]:
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

    out += blend_words(results.blend, results.task, decimals)
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
        threshold = _pct(results.review_threshold or 0.0)
        if n_check:
            out.append(f"{_count(n_check, 'prediction')} {'is' if n_check == 1 else 'are'} less sure than your review "
                       f"threshold of {threshold} and marked '{REVIEW_MARK}' in column {col}: worth a person's look.")
        else:
            out.append(f"Every prediction is at least {threshold} sure (your review threshold), so none is marked "
                       f"'{REVIEW_MARK}'.")
    return out


def blend_words(blend: dict, task: str, decimals: int) -> list[str]:
    """Which models answered, and how each did on rows it did not train on, in a sentence."""
    if not blend or not blend.get("scores"):
        return []
    sc, w = blend["scores"], float(blend["network"])
    if task == "classification":
        def how(v: float) -> str:
            return f"right {_pct(v)} of the time"
    else:
        def how(v: float) -> str:
            return f"typical error {_num(v, decimals)}"
    tried = (f"Two kinds of model learned from these rows: a neural network ({how(sc['network'])} on rows it did "
             f"not train on) and gradient-boosted trees ({how(sc['trees'])})")
    if w >= 1:
        return [tried + "; neither the trees nor a blend of the two did clearly better than the network on those "
                "rows, so the answers are the network's alone."]
    if w <= 0:
        return [tried + "; blending them did not help on those rows, so the answers are the trees' alone."]
    blended = (f"which was {how(sc['blend'])}" if task == "classification"
               else f"with a typical error of {_num(sc['blend'], decimals)}")
    text = tried + f". The answers blend them, {w:.0%} network and {1 - w:.0%} trees, {blended}."
    return [text + (" (The typical error is the RMSE, the root of the mean squared error.)"
                    if task != "classification" else "")]


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
    v = native(v)
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


# ---- numbers in words -----------------------------------------------------------------------------


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
