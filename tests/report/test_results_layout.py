"""layout(): where results go, and the SheetEdits it says it with."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from sheetdl.engine import CurvePoint, Importance, Results
from sheetdl.errors import OutputError
from sheetdl.report import importance_words, layout, layout_not_carried_over
from sheetdl.schema import Column, Schema
from sheetdl.sheets import Table
from sheetdl.sheets import edits as E

# ---- builders ----------------------------------------------------------------------------------


def churn_table(sheet_rows=None, sheet_max_col=None) -> Table:
    n = 6
    df = pd.DataFrame({
        "Tenure": [1, 5, 12, 30, 2, 7],
        "Plan": ["A", "B", "A", "C", "B", "A"],
        "Churn": ["Yes", "No", None, "No", None, "Yes"],
    })
    t = Table.from_dataframe(df, sheet="Customers", source="customers.xlsx")
    if sheet_rows is not None:
        t.sheet_rows = np.asarray(sheet_rows)
    if sheet_max_col is not None:
        t.sheet_max_col = sheet_max_col
    assert t.n_rows == n
    return t


def churn_schema(classes=("No", "Yes")) -> Schema:
    return Schema(
        [
            Column("Tenure", "number", "feature", "numbers", "A"),
            Column("Plan", "category", "feature", "3 different values", "B", n_missing=0),
            Column("Churn", "category", "target", "the column to predict", "C", n_missing=2),
        ],
        target="Churn",
        task="classification",
        task_reason="'Churn' holds 2 labels.",
        classes=list(classes),
    )


def churn_results(**kw) -> Results:
    labelled = np.array([True, True, False, True, False, True])
    args = dict(
        schema=churn_schema(),
        prediction=["Yes", "No", "No", "No", "Yes", "Yes"],
        labelled=labelled,
        confidence=np.array([0.91, 0.8, 0.55, 0.99, 0.6, 0.7]),
        probabilities=np.array([[0.09, 0.91], [0.8, 0.2], [0.55, 0.45], [0.99, 0.01], [0.4, 0.6], [0.3, 0.7]]),
        metrics={"accuracy": 0.81, "balanced_accuracy": 0.78, "auc": 0.874, "log_loss": 0.41},
        baseline={"accuracy": 0.73, "balanced_accuracy": 0.5, "auc": 0.5, "log_loss": 0.58},
        baseline_description="always guessing 'No'",
        confusion=np.array([[2, 0], [1, 1]]),
        curve=[CurvePoint(e, 1 / e, 1.1 / e, 0.5 + e / 100) for e in range(1, 6)],
        importance=[Importance("Plan", 0.02, 0.01, "category"), Importance("Tenure", 0.2, 0.03, "number")],
        settings={"Target column": "Churn", "Time budget (seconds)": "60"},
        run_info={"Device": "CPU (2 threads)", "Training time": "3.1 s"},
        notes=["2 rows had a blank 'Churn'."],
    )
    args.update(kw)
    return Results(**args)


def price_results(**kw) -> tuple[Table, Results]:
    df = pd.DataFrame({"Area": [50, 80, 120, 60], "Price": [150000.0, None, 410000.0, 190000.0]})
    t = Table.from_dataframe(df, sheet="Houses")
    schema = Schema(
        [Column("Area", "number", "feature", "numbers", "A"),
         Column("Price", "number", "target", "the column to predict", "B", n_missing=1)],
        target="Price", task="regression", task_reason="'Price' holds numbers.",
    )
    pred = [152345.678, 251234.5, 398765.4321, 201111.11]
    args = dict(
        schema=schema, prediction=pred, labelled=np.array([True, False, True, True]),
        low=np.array(pred) - 20000.4, high=np.array(pred) + 20000.4,
        reasons=["Area 50 lowered it", "Area 80", "Area 120 raised it", None],
        metrics={"mae": 1234.4, "rmse": 2000.0, "r2": 0.82},
        baseline={"mae": 3456.0, "rmse": 4000.0, "r2": 0.0},
        baseline_description="always guessing the average, 5,678",
        importance=[Importance("Area", 0.6, 0.05, "number")],
    )
    args.update(kw)
    return t, Results(**args)


def cells(edits, sheet) -> dict[tuple[int, int], object]:
    """What the WriteCells edits put in each cell of ``sheet``."""
    out = {}
    for e in edits:
        if isinstance(e, E.WriteCells) and e.sheet == sheet:
            for i, row in enumerate(e.values):
                for k, v in enumerate(row):
                    out[(e.row + i, e.col + k)] = v
    return out


def texts(edits, sheet) -> list[str]:
    return [v for v in cells(edits, sheet).values() if isinstance(v, str)]


# ---- SheetEdits --------------------------------------------------------------------------------


def test_edits_round_trip_through_json():
    edits = [
        E.AddSheet("SheetDL Report", tab_color="1F4E79"),
        E.WriteCells("Data", 3, 8, [["Predicted Churn", "Confidence"], ["Yes", 0.9], [True, None],
                                    [dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5)], [dt.time(7, 30), 3]],
                     number_formats=[None, "0%"], bold_first_row=True),
        E.FormatRange("Data", "H3:I3", bold=True, fill="DDEBF7", horizontal="center", border_bottom=True),
        E.SetColumnWidth("Data", 8, 18.5),
        E.SetRowHeight("Data", 1, 24),
        E.ColorScale("SheetDL Report", "B5:C6", mid_color="FFEB84"),
        E.AddChart("SheetDL Report", "line", "Loss", ["B10:B20", "C10:C20"], "A11:A20", "G10",
                   x_title="Epoch", y_title="Loss", category_label_step=5),
        E.FreezePanes("Data", "A2"),
    ]
    text = E.dumps(edits)
    json.loads(text)  # plain JSON, no NaN
    back = E.loads(text)
    assert back == edits
    assert [type(e) for e in back] == [type(e) for e in edits]
    assert all(d["op"] for d in json.loads(text))


def test_edits_json_turns_numpy_and_nan_into_plain_values():
    e = E.WriteCells("S", 1, 1, [[np.int64(3), np.float64("nan"), np.bool_(True), float("inf")]])
    d = json.loads(E.dumps([e]))[0]
    assert d["values"] == [[3, None, True, None]]


def test_unknown_edit_is_refused():
    with pytest.raises(ValueError, match="unknown edit"):
        E.edit_from_dict({"op": "delete_everything"})


# ---- the data sheet ----------------------------------------------------------------------------


def test_columns_go_right_of_everything_the_sheet_uses():
    t = churn_table(sheet_max_col=7)  # table A:C, but the sheet uses up to G
    edits = layout(churn_results(), t)
    c = cells(edits, "Customers")
    assert c[(1, 8)] == "Predicted Churn"
    assert c[(1, 9)] == "Confidence"
    assert not any(col <= 7 for (_, col) in c)  # nothing of the user's is overwritten
    header = next(e for e in edits if isinstance(e, E.WriteCells) and e.sheet == "Customers")
    assert header.bold_first_row


def test_columns_start_right_of_the_table_when_the_sheet_is_narrower():
    t = churn_table()
    t.sheet_max_col = 0
    c = cells(layout(churn_results(), t), "Customers")
    assert c[(1, 4)] == "Predicted Churn"


def test_non_contiguous_rows_land_beside_their_rows():
    rows = [2, 3, 4, 7, 8, 12]
    t = churn_table(sheet_rows=rows)
    t.header_row = 1
    res = churn_results()
    edits = layout(res, t)
    blocks = [e for e in edits if isinstance(e, E.WriteCells) and e.sheet == "Customers" and e.row > 1]
    assert [(b.row, b.n_rows) for b in blocks] == [(2, 3), (7, 2), (12, 1)]
    c = cells(edits, "Customers")
    for j, r in enumerate(rows):
        assert c[(r, 4)] == res.prediction[j]
        assert c[(r, 5)] == pytest.approx(res.confidence[j])
    for r in (5, 6, 9, 10, 11):
        assert (r, 4) not in c


def test_confidence_is_a_percentage_and_header_on_the_header_row():
    t = churn_table()
    t.header_row = 3
    t.sheet_rows = np.arange(4, 10)
    edits = layout(churn_results(), t)
    c = cells(edits, "Customers")
    assert c[(3, 4)] == "Predicted Churn" and c[(3, 5)] == "Confidence"
    blocks = [e for e in edits if isinstance(e, E.WriteCells) and e.sheet == "Customers" and e.row > 3]
    assert all(b.number_formats == [None, "0%"] for b in blocks)


def test_blank_target_rows_are_shaded_and_only_they():
    rows = [2, 3, 4, 7, 8, 12]
    edits = layout(churn_results(), churn_table(sheet_rows=rows))
    fills = [e for e in edits if isinstance(e, E.FormatRange) and e.sheet == "Customers" and e.fill
             and e.ref[0] == "D" and not e.ref.startswith("D1:")]
    assert [f.ref for f in fills] == ["D4:D4,D8:D8"]  # rows 3 and 5 of the table, in one edit


def test_many_scattered_blank_rows_need_few_edits():
    n = 20_000
    df = pd.DataFrame({"x": range(n), "Churn": [None if i % 3 == 0 else "No" for i in range(n)]})
    t = Table.from_dataframe(df, sheet="S")
    schema = Schema([Column("x", "number", "feature", ""), Column("Churn", "category", "target", "")],
                    "Churn", "classification", "", ["No", "Yes"])
    res = Results(schema, ["No"] * n, df.Churn.notna().to_numpy(), confidence=np.full(n, 0.7))
    edits = [e for e in layout(res, t) if getattr(e, "sheet", "") == "S"]
    assert len(edits) < 40
    fills = [e for e in edits if isinstance(e, E.FormatRange) and e.fill and e.ref != "C1:D1"]
    areas = [a for f in fills for a in f.ref.split(",")]
    assert len(areas) == (n + 2) // 3 and all(len(f.ref) <= 8192 for f in fills)
    blocks = [e for e in edits if isinstance(e, E.WriteCells) and e.row > 1]
    assert sum(b.n_rows for b in blocks) == n and max(b.n_rows for b in blocks) <= 5000


def test_labels_keep_their_type():
    schema = churn_schema(classes=(0, 1))
    res = churn_results(schema=schema, prediction=[np.int64(1), 0, 0, 0, 1, 1])
    c = cells(layout(res, churn_table()), "Customers")
    assert c[(2, 4)] == 1 and type(c[(2, 4)]) is int
    res = churn_results(schema=churn_schema(classes=(False, True)), prediction=[True, False] * 3)
    c = cells(layout(res, churn_table()), "Customers")
    assert c[(2, 4)] is True


def test_regression_columns_rounding_interval_and_reasons():
    t, res = price_results()
    edits = layout(res, t)
    c = cells(edits, "Houses")
    assert [c[(1, k)] for k in range(3, 7)] == ["Predicted Price", "Low", "High", "Why"]
    assert c[(2, 3)] == 152346 and type(c[(2, 3)]) is int  # prices: whole numbers
    assert c[(2, 4)] == 132345 and c[(2, 5)] == 172346
    assert c[(2, 6)] == "Area 50 lowered it" and c[(5, 6)] is None
    block = next(e for e in edits if isinstance(e, E.WriteCells) and e.sheet == "Houses" and e.row == 2)
    assert block.number_formats == ["#,##0", "#,##0", "#,##0", None]


def test_regression_small_numbers_keep_decimals():
    t, res = price_results(prediction=[3.14159, 2.5, 4.25, 3.0], low=None, high=None, reasons=None)
    c = cells(layout(res, t), "Houses")
    assert c[(2, 3)] == 3.142  # about three significant digits of the spread (0.64)
    assert (1, 4) not in c  # no Low/High/Why without them


def test_no_room_right_of_the_data_is_a_plain_error():
    t = churn_table(sheet_max_col=16383)
    with pytest.raises(OutputError, match="no room"):
        layout(churn_results(), t)


def test_predictions_must_match_the_table():
    with pytest.raises(ValueError):
        layout(churn_results(prediction=["Yes"], labelled=np.array([True])), churn_table())


# ---- new sheets --------------------------------------------------------------------------------


def test_report_and_importance_sheets_are_added():
    edits = layout(churn_results(), churn_table(), ["Customers"])
    added = [e.name for e in edits if isinstance(e, E.AddSheet)]
    assert added == ["SheetDL Report", "SheetDL Importance"]
    # every edit targets a sheet that exists or is added before it
    known = {"Customers"}
    for e in edits:
        if isinstance(e, E.AddSheet):
            known.add(e.name)
        else:
            assert e.sheet in known


def test_sheet_names_never_collide():
    edits = layout(churn_results(), churn_table(), ["Customers", "sheetdl report", "SheetDL Importance 2"])
    added = [e.name for e in edits if isinstance(e, E.AddSheet)]
    assert added == ["SheetDL Report 3", "SheetDL Importance 3"]


def test_no_importance_sheet_without_importances():
    edits = layout(churn_results(importance=[]), churn_table())
    assert [e.name for e in edits if isinstance(e, E.AddSheet)] == ["SheetDL Report"]


def test_report_says_it_in_plain_words_classification():
    t = texts(layout(churn_results(), churn_table()), "SheetDL Report")
    assert ("On rows it did not train on, the model was right 81% of the time; "
            "always guessing 'No' would be right 73%.") in t
    assert any("87% of the time (AUC 0.87" in s for s in t)
    assert any(s.startswith("It filled in 2 rows whose 'Churn' was blank (column D") for s in t)
    for label in ("Accuracy", "Balanced accuracy", "AUC", "Log loss", "Confusion matrix", "Columns",
                  "Training curve", "Settings used", "About this run", "Notes", "Time budget (seconds)",
                  "CPU (2 threads)", "• 2 rows had a blank 'Churn'."):
        assert label in t, label
    assert "Could not be carried over" not in t


def test_report_says_it_in_plain_words_regression():
    table, res = price_results()
    t = texts(layout(res, table), "SheetDL Report")
    assert ("On rows it did not train on, the model's predictions were off by 1,234 on average (MAE); "
            "always guessing the average, 5,678, would be off by 3,456.") in t
    assert "It explains 82% of the variation in 'Price' (R² 0.82)." in t
    for label in ("Mean absolute error (MAE)", "Root mean squared error (RMSE)", "R²"):
        assert label in t
    assert "Confusion matrix" not in t


def test_report_warns_when_no_better_than_the_baseline():
    t = texts(layout(churn_results(metrics={"accuracy": 0.7}), churn_table()), "SheetDL Report")
    assert any("no better than the naive guess" in s for s in t)
    table, res = price_results(metrics={"mae": 10.0, "r2": -0.2})
    report = texts(layout(res, table), "SheetDL Report")
    assert any("does no better than always guessing the average" in s for s in report)


def test_report_metric_formats_and_confusion_matrix_colour_scale():
    edits = layout(churn_results(), churn_table())
    c = cells(edits, "SheetDL Report")
    acc_row = next(r for (r, k), v in c.items() if v == "Accuracy" and k == 1)
    assert c[(acc_row, 2)] == pytest.approx(0.81) and c[(acc_row, 3)] == pytest.approx(0.73)
    fmts = {e.ref: e.number_format for e in edits if isinstance(e, E.FormatRange) and e.sheet == "SheetDL Report"
            and e.number_format}
    assert fmts[f"B{acc_row}:C{acc_row}"] == "0.0%"
    corner = next(r for (r, k), v in c.items() if isinstance(v, str) and v.startswith("Actual"))
    assert [c[(corner, 2)], c[(corner, 3)]] == ["No", "Yes"]
    assert [c[(corner + 1, 1)], c[(corner + 1, 2)], c[(corner + 2, 3)]] == ["No", 2, 1]
    scales = [e for e in edits if isinstance(e, E.ColorScale)]
    assert [s.ref for s in scales] == [f"B{corner + 1}:C{corner + 2}"]


def test_training_curve_table_and_line_chart():
    edits = layout(churn_results(), churn_table())
    c = cells(edits, "SheetDL Report")
    top = next(r for (r, k), v in c.items() if v == "Epoch")
    assert [c[(top, k)] for k in range(1, 5)] == ["Epoch", "Training loss", "Validation loss", "Validation accuracy"]
    chart = next(e for e in edits if isinstance(e, E.AddChart) and e.kind == "line")
    assert chart.series == [f"B{top}:B{top + 5}", f"C{top}:C{top + 5}"]
    assert chart.categories == f"A{top + 1}:A{top + 5}"
    assert chart.anchor == f"G{top}"  # right of the 4-column table


def test_nothing_written_under_the_curve_chart():
    res = churn_results(curve=[CurvePoint(1, 1.0, 1.0, 0.5)])  # a short table beside a tall chart
    edits = layout(res, churn_table())
    c = cells(edits, "SheetDL Report")
    top = next(r for (r, k), v in c.items() if v == "Epoch")
    below = [r for (r, k) in c if r > top + 1]
    assert min(below) >= top + 16


def test_importance_sheet_sorted_with_words_and_bar_chart():
    edits = layout(churn_results(), churn_table())
    c = cells(edits, "SheetDL Importance")
    top = next(r for (r, k), v in c.items() if v == "Column")
    assert [c[(top, k)] for k in range(1, 6)] == ["Column", "Kind", "Importance (drop in accuracy)", "Spread (±)",
                                                   "In words"]
    assert [c[(top + 1, 1)], c[(top + 2, 1)]] == ["Tenure", "Plan"]
    assert [c[(top + 1, 5)], c[(top + 2, 5)]] == ["strong", "some"]
    chart = next(e for e in edits if isinstance(e, E.AddChart) and e.sheet == "SheetDL Importance")
    assert chart.kind == "bar" and chart.reverse_categories and not chart.legend
    assert chart.series == [f"C{top}:C{top + 2}"]
    assert any("shuffled" in s for s in texts(edits, "SheetDL Importance"))


def test_importance_words():
    assert importance_words(0.3, 0.3) == "strong"
    assert importance_words(0.05, 0.3) == "some"
    assert importance_words(0.005, 0.3) == "little"
    assert importance_words(0.0, 0.3) == "none"
    assert importance_words(-0.02, 0.3) == "none"
    assert importance_words(float("nan"), 0.3) == "none"


def test_not_carried_over_section():
    lost = ["2 charts on sheet 'Sales'", "macros (VBA)"]
    res = churn_results()
    plain = layout(res, churn_table(), ["Customers"])
    extra = layout_not_carried_over(res, churn_table(), lost, ["Customers"])
    assert all(e.sheet == "SheetDL Report" for e in extra)
    used = {r for (r, _) in cells(plain, "SheetDL Report")}
    added = {r for (r, _) in cells(extra, "SheetDL Report")}
    assert min(added) > max(used)  # after the report: nothing moves, nothing overlaps
    t = texts(extra, "SheetDL Report")
    assert "Could not be carried over" in t and "• macros (VBA)" in t
    # the same section when layout already knows
    res.not_carried_over = lost
    assert cells(layout(res, churn_table(), ["Customers"]), "SheetDL Report") == {
        **cells(plain, "SheetDL Report"), **cells(extra, "SheetDL Report")}
    assert layout_not_carried_over(res, churn_table(), [], ["Customers"]) == []


def test_layout_is_json_serialisable():
    table, res = price_results()
    for edits in (layout(churn_results(), churn_table()), layout(res, table)):
        assert E.loads(E.dumps(edits)) == E.loads(E.dumps(E.loads(E.dumps(edits))))


def test_report_shows_a_reliability_table_for_confidence():
    bins = [{"low": 0.5, "high": 0.6, "rows": 40, "confidence": 0.55, "accuracy": 0.52},
            {"low": 0.9, "high": 1.0, "rows": 160, "confidence": 0.96, "accuracy": 0.95}]
    edits = layout(churn_results(reliability=bins), churn_table())
    c = cells(edits, "SheetDL Report")
    assert "Is the confidence honest?" in texts(edits, "SheetDL Report")
    row = next(r for (r, k), v in c.items() if v == "Confidence" and k == 1)
    assert [c[(row, k)] for k in range(1, 5)] == ["Confidence", "Rows", "Average confidence", "Actually right"]
    assert [c[(row + 1, k)] for k in range(1, 5)] == ["50%–60%", 40, 0.55, 0.52]
    assert c[(row + 2, 1)] == "90%–100%"
    assert "Is the confidence honest?" not in texts(layout(churn_results(), churn_table()), "SheetDL Report")


def test_report_says_how_often_the_interval_held_the_truth():
    t, res = price_results(interval_level=0.9, interval_coverage=0.893)
    words = " ".join(texts(layout(res, t), "SheetDL Report"))
    assert "the true value fell inside it 89% of the time (it aims at 90%)" in words
