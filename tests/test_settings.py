import dataclasses
import datetime as dt

import pytest

from sheetdl.errors import SettingsError, WorkbookError
from sheetdl.settings import SETTING_KEYS, Settings, Source, parse_duration, read_settings_sheet

xlsxwriter = pytest.importorskip("xlsxwriter")


def make_book(path, rows, *, sheet="SheetDL", data=True, first=(0, 0)):
    """A workbook with a data sheet and a settings sheet holding ``rows`` from cell ``first``."""
    wb = xlsxwriter.Workbook(str(path))
    if data:
        ws = wb.add_worksheet("Data")
        ws.write_row(0, 0, ["Age", "Churn"])
        ws.write_row(1, 0, [30, "yes"])
    ws = wb.add_worksheet(sheet)
    r0, c0 = first
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r0 + r, c0 + c, value)
    wb.close()
    return path


# -- Settings ------------------------------------------------------------------------------------


def test_defaults():
    s = Settings()
    assert (s.target, s.sheet, s.ignore, s.time_budget, s.task, s.device, s.seed) == (
        None, None, (), 60.0, "auto", "auto", 0)


def test_keyword_only_and_frozen():
    with pytest.raises(TypeError):
        Settings("Churn")  # type: ignore[misc]
    s = Settings(target="Churn")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.target = "Other"  # type: ignore[misc]


def test_user_words_are_normalised():
    s = Settings(target="  Churn ", ignore="ID; Notes, ID", time_budget="2 minutes",
                 task="Predict a number", device="GPU", seed="7")
    assert s.target == "Churn"
    assert s.ignore == ("ID", "Notes")
    assert s.time_budget == 120.0
    assert s.task == "regression"
    assert s.device == "cuda"
    assert s.seed == 7


@pytest.mark.parametrize("word,task", [("classify", "classification"), ("Classification", "classification"),
                                       ("number", "regression"), ("regression", "regression"),
                                       ("AUTO", "auto")])
def test_task_words(word, task):
    assert Settings(task=word).task == task


@pytest.mark.parametrize("word,device", [("auto", "auto"), ("cpu", "cpu"), ("gpu", "cuda"), ("cuda", "cuda")])
def test_device_words(word, device):
    assert Settings(device=word).device == device


@pytest.mark.parametrize("text,seconds", [
    (60, 60.0), ("60", 60.0), ("90 s", 90.0), ("90s", 90.0), ("2 minutes", 120.0), ("1 min", 60.0),
    ("1.5 h", 5400.0), ("1 hour", 3600.0), ("1:30", 90.0), (dt.time(0, 2), 120.0),
    (dt.timedelta(minutes=3), 180.0),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["fast", "2 fortnights", "", True, None])
def test_parse_duration_rejects(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("budget,words", [
    (0, "more than 0 seconds"), (-5, "more than 0 seconds"), (86401, "at most a day"),
    ("25 hours", "at most a day"), ("fast", "a number of seconds, like 60"),
    (float("nan"), "a number of seconds"),
])
def test_bad_time_budget(budget, words):
    with pytest.raises(SettingsError, match=words) as info:
        Settings(time_budget=budget)
    assert "'Time budget (seconds)'" in info.value.message


def test_time_budget_limits_inclusive():
    assert Settings(time_budget=86400).time_budget == 86400.0
    assert Settings(time_budget=0.5).time_budget == 0.5


@pytest.mark.parametrize("kw,words", [
    ({"task": "guess"}, "one of auto, classification or regression; it is 'guess'"),
    ({"device": "tpu"}, "one of auto, cpu or gpu; it is 'tpu'"),
    ({"seed": -1}, "a whole number"),
    ({"seed": 1.5}, "a whole number"),
    ({"seed": "abc"}, "a whole number"),
    ({"seed": True}, "a whole number"),
])
def test_bad_values(kw, words):
    with pytest.raises(SettingsError, match=words):
        Settings(**kw)


def test_error_names_its_source():
    with pytest.raises(SettingsError) as info:
        Settings(time_budget="fast", sources={"time_budget": "given with --time-budget"})
    assert info.value.message == (
        "The 'Time budget (seconds)' given with --time-budget should be a number of seconds, "
        "like 60; it is 'fast'.")


def test_merged_flags_beat_sheet_and_none_means_not_given():
    sheet = Settings(target="Churn", time_budget=30, task="classification",
                     sources={"target": Source("on the SheetDL sheet (B2)", "SheetDL", "B2")})
    s = sheet.merged(target=None, time_budget=10, device="cpu", task=None)
    assert s.target == "Churn"
    assert s.time_budget == 10.0
    assert s.device == "cpu"
    assert s.task == "classification"
    assert s.sources["target"].cell == "B2"
    assert sheet.time_budget == 30.0  # the original is untouched


def test_merged_validates_and_forgets_replaced_source():
    sheet = Settings(time_budget=30,
                     sources={"time_budget": Source("on the SheetDL sheet (B4)", "SheetDL", "B4")})
    with pytest.raises(SettingsError) as info:
        sheet.merged(time_budget=-1)
    assert "B4" not in info.value.message
    with pytest.raises(SettingsError, match="given with --time-budget"):
        sheet.merged(time_budget=-1, sources={"time_budget": "given with --time-budget"})


def test_merged_unknown_name_is_a_programming_error():
    with pytest.raises(TypeError):
        Settings().merged(colour="red")


def test_equality_ignores_sources():
    assert Settings(seed=1) == Settings(seed=1, sources={"seed": "x"})
    assert hash(Settings(seed=1)) == hash(Settings(seed=1, sources={"seed": "x"}))


def test_describe():
    d = Settings(target="Churn", ignore=("ID", "Notes"), time_budget=120).describe(
        task="classification", device="cpu")
    assert list(d) == list(SETTING_KEYS)
    assert d["Target column"] == "Churn"
    assert d["Data sheet"] == "not set"
    assert d["Ignore columns"] == "ID, Notes"
    assert d["Time budget (seconds)"] == "120 (2 minutes)"
    assert d["Task"] == "auto (decided: classification)"
    assert d["Device"] == "auto (decided: cpu)"
    assert d["Seed"] == "0"


def test_describe_fixed_choices_and_chosen_sheet():
    d = Settings(task="regression", device="gpu", time_budget=30).describe(
        task="classification", sheet="Data")
    assert d["Task"] == "regression"
    assert d["Device"] == "gpu (cuda)"
    assert d["Time budget (seconds)"] == "30"
    assert d["Data sheet"] == "Data (chosen by SheetDL)"
    assert d["Ignore columns"] == "none"


def test_setting_keys_documented():
    assert list(SETTING_KEYS) == ["Target column", "Data sheet", "Ignore columns",
                                  "Time budget (seconds)", "Task", "Device", "Seed", "Review threshold",
                                  "Fine-tune pictures", "Picture network"]
    assert all(isinstance(v, str) and v and "\n" not in v for v in SETTING_KEYS.values())


@pytest.mark.parametrize("given,share", [("70%", 0.7), ("70", 0.7), (0.7, 0.7), ("0,85", 0.85), (" 65 % ", 0.65),
                                         (None, None), ("", None), (55, 0.55)])
def test_review_threshold_in_the_users_words(given, share):
    got = Settings(review_threshold=given).review_threshold
    assert got == pytest.approx(share) if share is not None else got is None


@pytest.mark.parametrize("given", ["often", "0%", "100%", "150", -0.2, True])
def test_a_bad_review_threshold_says_what_it_should_be(given):
    with pytest.raises(SettingsError, match="'Review threshold' should be a share between 0% and 100%, like 70%"):
        Settings(review_threshold=given)


# -- the SheetDL sheet -----------------------------------------------------------------------------


def test_read_full_sheet_with_header_and_notes(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [
        ("Setting", "Value", "Note"),
        ("Target column", "Churn", "what to predict"),
        ("Data sheet", "Data", None),
        ("Ignore columns", "ID, Notes", None),
        ("Time budget (seconds)", 90, None),
        ("Task", "classify", None),
        ("Device", "GPU", None),
        ("Seed", 3, None),
    ])
    kwargs, notes = read_settings_sheet(book)
    assert kwargs == {"target": "Churn", "sheet": "Data", "ignore": ("ID", "Notes"),
                      "time_budget": 90.0, "task": "classification", "device": "cuda", "seed": 3}
    assert notes == []
    assert Settings(**kwargs).target == "Churn"


def test_keys_match_ignoring_case_and_spaces_without_header(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [
        ("  TARGET   COLUMN ", "Churn"),
        ("time budget", "2 minutes"),
        ("data_sheet", "Data"),
    ])
    kwargs, _ = read_settings_sheet(book)
    assert kwargs == {"target": "Churn", "time_budget": 120.0, "sheet": "Data"}


def test_sheet_name_is_case_insensitive(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [("Target column", "Churn")], sheet="sheetdl")
    assert read_settings_sheet(book)[0] == {"target": "Churn"}


def test_blank_values_are_not_set(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [
        ("Setting", "Value"),
        ("Target column", "Churn"),
        ("Data sheet", None),
        ("Ignore columns", "   "),
        ("Time budget (seconds)", None),
    ])
    assert read_settings_sheet(book) == ({"target": "Churn"}, [])


def test_ignore_over_several_rows(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [
        ("Ignore columns", "ID"),
        (None, "Notes; Email"),
        ("Ignore columns", "Phone"),
        ("Target column", "Churn"),
    ])
    kwargs, notes = read_settings_sheet(book)
    assert kwargs["ignore"] == ("ID", "Notes", "Email", "Phone")
    assert notes == []


def test_numeric_names_read_as_text(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [("Target column", 2023), ("Ignore columns", 2022)])
    assert read_settings_sheet(book)[0] == {"target": "2023", "ignore": ("2022",)}


def test_unknown_key_is_a_note(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [
        ("Setting", "Value"),
        ("Target column", "Churn"),
        ("Data sheet", "Data"),
        ("Ignore columns", None),
        ("Time budget (seconds)", 30),
        ("Task", "auto"),
        ("Colour", "blue"),
    ])
    kwargs, notes = read_settings_sheet(book)
    assert kwargs["target"] == "Churn"
    assert len(notes) == 1
    assert notes[0].startswith(
        "Setting 'Colour' on the SheetDL sheet (A7) is not one SheetDL knows; it was ignored. "
        "Known settings: Target column, Data sheet")


def test_title_row_is_ignored_quietly(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [
        ("SheetDL settings", None),
        (None, None),
        ("Setting", "Value"),
        ("Target column", "Churn"),
    ])
    assert read_settings_sheet(book) == ({"target": "Churn"}, [])


def test_value_without_key_is_a_note(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [("Target column", "Churn"), ("Task", "auto"),
                                           (None, "stray")])
    kwargs, notes = read_settings_sheet(book)
    assert notes == ["B3 on the SheetDL sheet has a value but no setting name in A3; it was ignored."]


def test_bad_value_names_the_cell(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [
        ("Setting", "Value"),
        ("Target column", "Churn"),
        ("Data sheet", "Data"),
        ("Time budget (seconds)", "fast"),
    ])
    with pytest.raises(SettingsError) as info:
        read_settings_sheet(book)
    assert info.value.message == ("The 'Time budget (seconds)' on the SheetDL sheet (B4) should be a "
                                  "number of seconds, like 60; it is 'fast'.")
    assert info.value.sheet == "SheetDL"
    assert info.value.cells == ["B4"]


def test_bad_task_names_the_cell(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [("Task", "guess the colour")])
    with pytest.raises(SettingsError, match=r"'Task' on the SheetDL sheet \(B1\) should be one of"):
        read_settings_sheet(book)


def test_too_long_budget_names_the_cell(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [("Time budget (seconds)", 100000)])
    with pytest.raises(SettingsError, match=r"\(B1\) should be at most a day"):
        read_settings_sheet(book)


def test_budget_in_minutes_key(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [("Time budget (minutes)", 2)])
    assert read_settings_sheet(book)[0] == {"time_budget": 120.0}


def test_conflicting_duplicates_are_an_error(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [("Target column", "Churn"), ("Target column", "Plan")])
    with pytest.raises(SettingsError, match=r"set twice on the SheetDL sheet \(B1 and B2\)"):
        read_settings_sheet(book)


def test_settings_away_from_a1_keep_real_cell_names(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [("Seed", "lucky")], first=(2, 1))
    with pytest.raises(SettingsError, match=r"\(C3\)"):
        read_settings_sheet(book)


def test_no_settings_sheet(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "b.xlsx"))
    wb.add_worksheet("Data").write(0, 0, "x")
    wb.close()
    assert read_settings_sheet(tmp_path / "b.xlsx") == ({}, [])


def test_csv_has_no_settings(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("Age,Churn\n30,yes\n")
    assert read_settings_sheet(path) == ({}, [])


def test_bytes_and_file_objects(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [("Target column", "Churn")])
    assert read_settings_sheet(book.read_bytes())[0] == {"target": "Churn"}
    with open(book, "rb") as fh:
        assert read_settings_sheet(fh)[0] == {"target": "Churn"}


def test_ods_is_read(tmp_path):
    pytest.importorskip("odf", reason="odfpy writes the .ods")
    import pandas as pd

    path = tmp_path / "b.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame({"Age": [1]}).to_excel(writer, sheet_name="Data", index=False)
        pd.DataFrame({"Setting": ["Target column"], "Value": ["Age"]}).to_excel(
            writer, sheet_name="SheetDL", index=False)
    assert read_settings_sheet(path)[0] == {"target": "Age"}


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(WorkbookError, match="Can't find"):
        read_settings_sheet(tmp_path / "nope.xlsx")
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    with pytest.raises(WorkbookError, match="Can't open 'bad.xlsx'"):
        read_settings_sheet(bad)
