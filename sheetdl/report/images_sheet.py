"""The ``SheetDL Images`` sheet: the rows to look at, with their pictures and where the model looked.

For a picture column, numbers alone don't show what went wrong. This sheet lists the labelled rows
the model got wrong (most confident mistakes first) and the rows it was least sure of, each with a
thumbnail of its picture and the same picture with a heat map over the parts that drove the
prediction (Grad-CAM). Pictures are anchored to cells and sized to fit the row.
"""

from __future__ import annotations

import base64
import textwrap

from ..engine import PICTURE_PX, PictureRow, Results
from ..sheets import AddPicture, AddSheet, Edit, FormatRange, SetColumnWidth, SetRowHeight, WriteCells
from .cells import HEADER_FILL, HEADING_COLOR, MUTED_COLOR, cell_ref, decimals_for, native, number_format
from .report_sheet import WRAP_AT

__all__ = ["images_sheet"]

#: row height (points) that fits a picture: 96 px × 0.75 pt/px + a margin
_ROW_HEIGHT = PICTURE_PX * 0.75 + 6
#: a column as wide as a picture, in Excel's character units (~7 px each at the default font)
_PICTURE_COL_WIDTH = PICTURE_PX / 7 + 2
_WRONG_FILL = "FCE4D6"


def images_sheet(results: Results, table, name: str) -> list[Edit]:
    rows: list[PictureRow] = results.pictures
    edits: list[Edit] = [AddSheet(name)]
    regression = results.task == "regression"
    column = rows[0].column
    edits.append(WriteCells(name, 1, 1, [[f"Pictures to look at: '{column}'"]]))
    edits.append(FormatRange(name, "A1", bold=True, font_size=16, font_color=HEADING_COLOR))
    edits.append(SetRowHeight(name, 1, 24))
    wrong_words = ("the rows whose known value was furthest from the prediction" if regression
                   else "the labelled rows the model got wrong, most confident mistakes first")
    unsure_words = "the rows with the widest range" if regression else "the rows it was least sure of"
    intro = [
        f"First {wrong_words} (shaded), then {unsure_words}. Predictions for labelled rows come from a model "
        "that did not train on them.",
        "Heat map: where the model looked. Red parts pushed it most towards its prediction, blue parts "
        "hardly mattered (Grad-CAM).",
    ]
    words = results.picture_models.get(column)
    if words:
        intro.append(f"Pictures were read by {words}.")
    intro = [part for t in intro for part in textwrap.wrap(t, WRAP_AT)]
    edits.append(WriteCells(name, 2, 1, [[t] for t in intro]))
    edits.append(FormatRange(name, f"A2:A{1 + len(intro)}", italic=True, font_color=MUTED_COLOR))

    top = 3 + len(intro)
    target = results.target
    header = ["Row", "Picture", "Where the model looked", f"{target} (known)", f"Predicted {target}",
              "Confidence" if not regression else "Error", "Why listed", column]
    body = []
    for r in rows:
        if regression:
            err = (float(r.prediction) - float(r.label)) if r.label is not None else None
            third = err
        else:
            third = r.confidence
        why = ("got it wrong" if not regression else "far off") if r.why == "wrong" else "least sure"
        body.append([int(table.sheet_rows[r.row]) if r.row < len(table.sheet_rows) else r.row + 1, None, None,
                     native(r.label), native(r.prediction), native(third), why, r.path])
    if regression:  # numbers as the data sheet shows them: as many decimals as the target's values
        number = number_format(decimals_for(results.prediction))
        fmts = [None, None, None, number, number, number, None, None]
    else:
        fmts = [None, None, None, None, None, "0%", None, None]
    edits.append(WriteCells(name, top, 1, [header] + body, number_formats=fmts, bold_first_row=True))
    edits.append(FormatRange(name, f"A{top}:{cell_ref(top, len(header))}", fill=HEADER_FILL, border_bottom=True,
                             wrap=True))
    edits.append(FormatRange(name, f"A{top + 1}:{cell_ref(top + len(body), len(header))}", wrap=True))
    if body:  # the short values read best centred under their headers, beside the pictures
        edits.append(FormatRange(name, f"D{top + 1}:G{top + len(body)}", horizontal="center"))
    wrong_rows = [top + 1 + i for i, r in enumerate(rows) if r.why == "wrong"]
    if wrong_rows:
        refs = ",".join(f"A{row}:{cell_ref(row, len(header))}" for row in wrong_rows)
        edits.append(FormatRange(name, refs, fill=_WRONG_FILL))
    for i, r in enumerate(rows):
        row = top + 1 + i
        edits.append(SetRowHeight(name, row, _ROW_HEIGHT))
        for col, png, what in ((2, r.thumbnail, "picture"), (3, r.heatmap, "heat map")):
            if png:
                edits.append(AddPicture(name, cell_ref(row, col), base64.b64encode(png).decode("ascii"),
                                        PICTURE_PX, PICTURE_PX, f"{what} of row {body[i][0]}: {r.path}"))
    for col, width in ((1, 7), (2, _PICTURE_COL_WIDTH), (3, _PICTURE_COL_WIDTH), (4, 14), (5, 14), (6, 11),
                       (7, 12), (8, 40)):
        edits.append(SetColumnWidth(name, col, width))
    return edits
