"""The ribbon's background jobs end to end, with real background processes: a press starts training and
returns at once; progress arrives in the job's folder; a second press offers to stop it and stops it;
finished results wait until a press writes them into the workbook (here, the stand-in; on Linux the
job can't reach Excel itself)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from standin import Book

from sheetdl.desktop import Job, model_path_for, press, running_job
from sheetdl.desktop.jobs import CANCELLED, DONE, RUNNING, table_from_json, table_to_json


def small_book(budget: int = 3) -> Book:
    rng = np.random.default_rng(0)
    book = Book("/data/Flowers.xlsx")
    s = book.sheets.new("Data")
    rows = []
    for i in range(60):
        a = float(rng.normal())
        label = "big" if a > 0 else "small"
        rows.append([a, float(rng.normal()), None if i % 10 == 0 else label])
    s.put("A1", [["Size", "Noise", "Kind"]] + rows)
    book.sheets.new("SheetDL").put("A1", [["Target column", "Kind"], ["Time budget (seconds)", budget],
                                          ["Seed", 1]])
    return book


def _wait(job: Job, timeout: float = 240) -> tuple[str, list[str]]:
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        p = job.progress()
        if not seen or seen[-1] != p["text"]:
            seen.append(p["text"])
        if p["state"] != RUNNING:
            return p["state"], seen
        time.sleep(0.2)
    pytest.fail(f"the job did not finish in {timeout} s; it said {seen}")


def test_table_travels_to_the_job_unchanged():
    from sheetdl.desktop import read_live_table

    t = read_live_table(small_book())
    back = table_from_json(table_to_json(t))
    assert back.columns == t.columns and back.values.equals(t.values)
    assert list(back.sheet_rows) == list(t.sheet_rows) and back.sheet_max_col == t.sheet_max_col


def test_train_in_the_background_then_write_the_results_on_the_next_press(tmp_path):
    book = small_book()
    said = press("train", book=book, home=tmp_path)
    assert said.startswith("started ")
    assert "training started on sheet 'Data' (60 rows)" in book.app.status_bar_history[-1]
    job = running_job(tmp_path, book.fullname)
    assert job is not None
    state, seen = _wait(job)
    assert state == DONE, (seen, job.result())
    assert any(t.startswith("training: fold") for t in seen), seen  # progress came while it trained
    assert model_path_for(tmp_path, book.fullname).is_file()
    data = book.sheets.items[0]
    assert data.get("D1") is None  # nothing written behind the user's back on Linux: no Excel to reach

    said = press("train", book=book, home=tmp_path)  # the next press writes what waited
    assert data.get("D1") == "Predicted Kind" and data.get("D2") in ("big", "small")
    assert data.style("D2").get("color") == "#FFF2CC"  # row 2's Kind was blank: shaded
    assert "SheetDL Report" in [s.name for s in book.sheets]
    assert book.app.alerts[-1][0] == said and Job(job.folder).applied

    book.app.answers = ["ok"]
    said = press("explain", book=book, home=tmp_path)
    assert said.startswith("The model predicts 'Kind'") and "Columns that mattered most" in said


def test_a_second_press_while_training_offers_to_stop_it(tmp_path):
    book = small_book(budget=60)
    press("train", book=book, home=tmp_path)
    job = running_job(tmp_path, book.fullname)
    book.app.answers = ["no"]
    assert press("train", book=book, home=tmp_path) == "still running"
    prompt, title, buttons = book.app.alerts[-1]
    assert "still working on 'Flowers.xlsx'" in prompt and "Stop it?" in prompt and buttons == "yes_no"
    book.app.answers = ["yes"]
    assert press("train", book=book, home=tmp_path) == "stopping"
    state, seen = _wait(job, timeout=120)
    assert state == CANCELLED, seen
    assert job.result()["error"]["message"] == "Stopped at your request; nothing was written."
    assert not model_path_for(tmp_path, book.fullname).exists()
    # a stopped job leaves nothing to write: the next press starts afresh
    said = press("train", book=book, home=tmp_path, spawn=lambda cmd, folder: None)
    assert said.startswith("started ") and book.sheets.items[0].get("D1") is None


def test_without_a_target_the_press_says_how_to_give_one(tmp_path):
    book = small_book()
    book.sheets.items[1].cells.clear()
    said = press("train", book=book, home=tmp_path, spawn=lambda cmd, folder: pytest.fail("started a job"))
    assert "which column to predict" in said and "Target column" in said


def test_predict_without_a_model_says_train_first(tmp_path):
    book = small_book()
    said = press("predict", book=book, home=tmp_path, spawn=lambda cmd, folder: pytest.fail("started a job"))
    assert said.startswith("There is no model for 'Flowers.xlsx' yet.")


def test_a_user_mistake_is_a_message_box_not_a_traceback(tmp_path):
    book = small_book()
    book.sheets.items[1].put("B1", [["Colour"]])  # a target that is not a column
    press("train", book=book, home=tmp_path)
    # the job reports it: wait for it, then the next press shows it
    job = Job(next((tmp_path / "jobs").iterdir()))
    _wait(job)
    said = press("train", book=book, home=tmp_path, spawn=lambda cmd, folder: None)
    assert "Colour" in said and "Traceback" not in said
    assert book.app.alerts[-1][0] == said


def test_on_linux_the_buttons_say_plainly_that_excel_is_not_here(capsys):
    said = press("train")
    assert "Desktop Excel can't be reached on this computer" in said and "Traceback" not in said
