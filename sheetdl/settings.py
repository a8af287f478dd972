"""The declarative task spec: what to predict, from which sheet, for how long, on what.

Settings come from three places, in rising priority: the defaults here, the workbook's ``SheetDL``
sheet (so an analyst can save the task with the data), and flags / API arguments. Every value, from
wherever it came, is normalised and checked in one place, :meth:`Settings.__post_init__`, so the
sheet, the CLI and the server accept the same spellings ("2 minutes", "classify", "gpu") and fail
with the same plain messages. ``sources`` remembers where each value came from so those messages can
point at the cell ("on the SheetDL sheet (B4)") or the flag that holds it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from .errors import SettingsError, WorkbookError

__all__ = [
    "Settings",
    "Device",
    "FineTune",
    "PictureNetworkChoice",
    "PICTURE_NETWORK_NAMES",
    "Source",
    "SETTING_KEYS",
    "SETTINGS_SHEET",
    "read_settings_sheet",
    "settings_from_rows",
    "find_settings_sheet",
    "parse_duration",
]

Task = Literal["auto", "classification", "regression"]
Device = Literal["auto", "cpu", "cuda"]
FineTune = Literal["auto", "yes", "no"]
PictureNetworkChoice = Literal["auto", "efficientnet-lite0", "resnet18", "scratch"]

#: Name of the sheet that holds the settings (matched ignoring case and spaces).
SETTINGS_SHEET = "SheetDL"

#: Longest time budget accepted: a run that needs more than a day is not what SheetDL is for.
MAX_TIME_BUDGET = 24 * 60 * 60
_MAX_SEED = 2**32 - 1  # numpy's and torch's common range


class _Spec(NamedTuple):
    field: str
    label: str
    description: str
    aliases: tuple[str, ...]


_SPECS: tuple[_Spec, ...] = (
    _Spec("target", "Target column",
          "The header of the column to predict; rows where it is blank get predictions.",
          ("target", "targetcolumn", "target column name", "column to predict", "predict column",
           "predict")),
    _Spec("sheet", "Data sheet",
          "The sheet holding the data; leave blank to use the sheet with the largest table.",
          ("data sheet", "sheet", "data sheet name", "sheet name", "data")),
    _Spec("ignore", "Ignore columns",
          "Columns to leave out, separated by commas (or one per row), e.g. ID, Notes.",
          ("ignore columns", "ignore", "ignored columns", "ignore column", "exclude columns",
           "exclude", "skip columns")),
    _Spec("time_budget", "Time budget (seconds)",
          "How long training may take, in seconds (60), or with a unit: '2 minutes', '90 s'.",
          ("time budget", "time budget seconds", "time budget s", "time budget secs",
           "time budget sec", "time limit", "time limit seconds", "budget", "training time")),
    _Spec("task", "Task",
          "auto, classification (pick a label) or regression (predict a number).",
          ("task", "task type", "problem type", "kind of task")),
    _Spec("device", "Device",
          "auto, cpu or gpu; auto uses a GPU when the computer has one.",
          ("device", "hardware", "processor")),
    _Spec("seed", "Seed",
          "A whole number that makes runs repeatable; change it to get a different split.",
          ("seed", "random seed", "random state")),
    _Spec("review_threshold", "Review threshold",
          "Predictions less sure than this (like 70%) are marked 'Check' for a person to look at; "
          "blank for none. Categories only.",
          ("review threshold", "review below", "check below", "confidence threshold", "review",
           "review confidence", "minimum confidence")),
    _Spec("fine_tune", "Fine-tune pictures",
          "auto, yes or no: adapt the pretrained picture network to these pictures (better on unusual "
          "pictures, slower); auto does it when a GPU trains.",
          ("fine tune pictures", "fine-tune pictures", "fine tune", "finetune", "fine tuning",
           "fine-tuning", "tune pictures", "fine tune images", "finetune pictures")),
    _Spec("picture_network", "Picture network",
          "auto, EfficientNet-Lite0, ResNet-18 or from scratch: the pretrained network that reads "
          "pictures; auto uses EfficientNet-Lite0, which comes with SheetDL.",
          ("picture network", "image network", "network for pictures", "picture model", "image model",
           "backbone", "picture backbone", "pretrained network")),
)
_BY_FIELD = {s.field: s for s in _SPECS}

#: The documented settings, in the order the SheetDL sheet lists them, each with a one-line note.
SETTING_KEYS: dict[str, str] = {s.label: s.description for s in _SPECS}


def _norm_key(text: str) -> str:
    """'Time budget (seconds)' → 'timebudgetseconds': keys match whatever the case and spacing."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


_KEY_TO_FIELD: dict[str, str] = {}
for _s in _SPECS:
    for _alias in (_s.label, *_s.aliases):
        _KEY_TO_FIELD[_norm_key(_alias)] = _s.field
# a budget written in minutes or hours on the sheet: the key carries the unit for bare numbers
_BUDGET_UNIT_KEYS = {
    "timebudgetminutes": 60.0, "timebudgetmins": 60.0, "timebudgetmin": 60.0,
    "timelimitminutes": 60.0, "timebudgethours": 3600.0, "timelimithours": 3600.0,
}
for _k in _BUDGET_UNIT_KEYS:
    _KEY_TO_FIELD[_k] = "time_budget"

_TASK_WORDS = {
    "auto": "auto", "automatic": "auto", "": "auto",
    "classification": "classification", "classify": "classification", "class": "classification",
    "category": "classification", "label": "classification", "predict a category": "classification",
    "predict a label": "classification", "classifier": "classification",
    "regression": "regression", "regress": "regression", "number": "regression",
    "numeric": "regression", "predict a number": "regression", "regressor": "regression",
}
_DEVICE_WORDS = {
    "auto": "auto", "automatic": "auto", "": "auto",
    "cpu": "cpu", "processor": "cpu",
    "cuda": "cuda", "gpu": "cuda", "nvidia": "cuda", "graphics card": "cuda",
}

_FINE_TUNE_WORDS = {
    "auto": "auto", "automatic": "auto", "": "auto",
    "yes": "yes", "y": "yes", "true": "yes", "on": "yes", "1": "yes", "always": "yes",
    "no": "no", "n": "no", "false": "no", "off": "no", "0": "no", "never": "no",
}

_PICTURE_NETWORK_WORDS = {
    "auto": "auto", "automatic": "auto", "": "auto",
    "efficientnet-lite0": "efficientnet-lite0", "efficientnet lite0": "efficientnet-lite0",
    "efficientnet-lite 0": "efficientnet-lite0", "efficientnet lite 0": "efficientnet-lite0",
    "efficientnet-lite": "efficientnet-lite0", "efficientnet lite": "efficientnet-lite0",
    "efficientnet": "efficientnet-lite0", "efficient net": "efficientnet-lite0",
    "resnet-18": "resnet18", "resnet18": "resnet18", "resnet 18": "resnet18", "resnet": "resnet18",
    "res net": "resnet18",
    "from scratch": "scratch", "scratch": "scratch", "none": "scratch", "small cnn": "scratch",
    "cnn": "scratch", "no pretrained network": "scratch",
}
#: the 'Picture network' setting's values as the SheetDL sheet and the report show them
PICTURE_NETWORK_NAMES = {"auto": "auto", "efficientnet-lite0": "EfficientNet-Lite0", "resnet18": "ResNet-18",
                         "scratch": "from scratch"}

_UNITS = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
}
_DURATION_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-z]*)\s*$")
_CLOCK_RE = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)\s*$")


class Source(NamedTuple):
    """Where a setting's value came from, for error messages: 'on the SheetDL sheet (B4)'."""

    where: str
    sheet: str | None = None
    cell: str | None = None


def parse_duration(value: Any, *, unit: float = 1.0) -> float | None:
    """Seconds from 60, '60', '90 s', '2 minutes', '1.5h', '1:30' (m:ss) or a time cell, else None.

    ``unit`` scales bare numbers (a key such as 'Time budget (minutes)' sets it to 60).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) * unit
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, _dt.time):
        return value.hour * 3600.0 + value.minute * 60.0 + value.second + value.microsecond / 1e6
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    m = _DURATION_RE.match(text)
    if m:
        number, word = float(m.group(1)), m.group(2)
        if not word:
            return number * unit
        if word in _UNITS:
            return number * _UNITS[word]
        return None
    m = _CLOCK_RE.match(text)
    if m:
        hours = float(m.group(1) or 0)
        return hours * 3600 + float(m.group(2)) * 60 + float(m.group(3))
    return None


def _as_name(value: Any) -> str | None:
    """A column or sheet name typed in a cell: 2023.0 → '2023', '' → None."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _split_names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        names: list[str] = []
        for item in value:
            names.extend(_split_names(item))
        return names
    text = _as_name(value)
    if text is None:
        return []
    return [part.strip() for part in re.split(r"[;,\n]", text) if part.strip()]


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


@dataclass(kw_only=True, frozen=True)
class Settings:
    """What to train: the target, the sheet, columns to leave out, the time budget, task and device.

    Values may be given in the user's words ("2 minutes", "classify", "gpu", "ID, Notes"); they are
    normalised on construction, so every ``Settings`` holds canonical values or was never made.
    """

    target: str | None = None
    sheet: str | None = None
    ignore: tuple[str, ...] = ()
    time_budget: float = 60.0
    task: Task = "auto"
    device: Device = "auto"
    seed: int = 0
    #: predictions whose confidence is below this share (0–1) are marked for review; None = none
    review_threshold: float | None = None
    #: fine-tune the pretrained picture network: auto (on a GPU), yes or no
    fine_tune: FineTune = "auto"
    #: which pretrained network reads pictures: auto, efficientnet-lite0, resnet18 or scratch
    picture_network: PictureNetworkChoice = "auto"
    #: field name → where its value came from (a :class:`Source` or a phrase such as
    #: "given with --time-budget"); only used to say where a bad value is.
    sources: Mapping[str, Source | str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._set("sources", {k: (v if isinstance(v, Source) else Source(str(v)))
                              for k, v in dict(self.sources).items()})
        self._set("target", self._name("target", self.target))
        self._set("sheet", self._name("sheet", self.sheet))
        self._set("ignore", self._ignore())
        self._set("time_budget", self._time_budget())
        self._set("task", self._word("task", self.task, _TASK_WORDS,
                                     "auto, classification or regression"))
        self._set("device", self._word("device", self.device, _DEVICE_WORDS, "auto, cpu or gpu"))
        self._set("seed", self._seed())
        self._set("review_threshold", self._threshold())
        self._set("fine_tune", self._fine_tune())
        self._set("picture_network", self._word("picture_network", self.picture_network, _PICTURE_NETWORK_WORDS,
                                                "auto, EfficientNet-Lite0, ResNet-18 or from scratch"))

    # -- checks, one per field ------------------------------------------------------------------

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _fail(self, name: str, should: str, value: Any) -> SettingsError:
        spec = _BY_FIELD[name]
        source = self.sources.get(name)
        source = source if isinstance(source, Source) else None  # (all are Sources after __post_init__)
        where = f" {source.where}" if source and source.where else ""
        return SettingsError(
            f"The '{spec.label}'{where} should be {should}; it is '{_shown(value)}'.",
            hint=f"{spec.label}: {spec.description}",
            sheet=source.sheet if source else None,
            cells=[source.cell] if source and source.cell else [],
        )

    def _name(self, name: str, value: Any) -> str | None:
        if value is None or isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return _as_name(value)
        thing = "column" if name == "target" else "sheet"
        raise self._fail(name, f"the name of a {thing}", value)

    def _ignore(self) -> tuple[str, ...]:
        names = _split_names(self.ignore)
        return tuple(dict.fromkeys(names))  # drop repeats, keep order

    def _time_budget(self) -> float:
        value = self.time_budget
        unit = 1.0
        if isinstance(value, tuple) and len(value) == 2:  # (raw, unit) from a '(minutes)' key
            value, unit = value
        seconds = parse_duration(value, unit=unit)
        if seconds is None or math.isnan(seconds):
            raise self._fail("time_budget", "a number of seconds, like 60", value)
        if seconds <= 0:
            raise self._fail("time_budget", "more than 0 seconds, like 60", value)
        if seconds > MAX_TIME_BUDGET:
            raise self._fail("time_budget", "at most a day (86400 seconds)", value)
        return float(seconds)

    def _word(self, name: str, value: Any, words: dict[str, str], choices: str) -> str:
        key = " ".join(str(value).strip().lower().split()) if value is not None else ""
        if key in words and not isinstance(value, bool):
            return words[key]
        raise self._fail(name, f"one of {choices}", value)

    def _fine_tune(self) -> str:
        """auto, yes or no — also from a TRUE/FALSE cell or 1/0."""
        value = self.fine_tune
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (int, float)) and value in (0, 1):
            return "yes" if value else "no"
        return self._word("fine_tune", value, _FINE_TUNE_WORDS, "auto, yes or no")

    def _seed(self) -> int:
        value = self.seed
        number: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or not number.is_integer() or not 0 <= number <= _MAX_SEED:
            raise self._fail("seed", "a whole number from 0 to 4294967295, like 0", value)
        return int(number)

    def _threshold(self) -> float | None:
        """'70%', '70', 0.7 and '0,7' all mean 70%; blank means no review marks."""
        value = self.review_threshold
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        number: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            text = value.strip().replace(",", ".")
            percent = text.endswith("%")
            try:
                number = float(text.rstrip("%").strip())
            except ValueError:
                number = None
            if number is not None and percent:
                number /= 100
        if number is not None and 1 < number <= 100:  # 70 means 70%
            number /= 100
        if number is None or not 0 < number < 1:
            raise self._fail("review_threshold", "a share between 0% and 100%, like 70%", value)
        return number

    # -- use --------------------------------------------------------------------------------------

    def merged(self, **overrides: Any) -> Settings:
        """These settings with ``overrides`` on top (flags beat the sheet); None means 'not given'.

        ``sources=`` may say where the overrides came from; an overridden value forgets the source
        of the value it replaced.
        """
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"Settings has no field(s) {', '.join(sorted(unknown))}")
        new_sources = dict(overrides.pop("sources", None) or {})
        given = {k: v for k, v in overrides.items() if v is not None}
        sources = {k: v for k, v in self.sources.items() if k not in given}
        sources.update({k: v for k, v in new_sources.items() if k in given})
        return dataclasses.replace(self, **given, sources=sources)

    def describe(self, **decided: Any) -> dict[str, str]:
        """The settings in the user's words for the report, label → value text.

        ``decided`` gives what 'auto' or a blank turned into, e.g. ``task="classification"``:
        shown as "auto (decided: classification)"; ``device`` as torch names it ("cpu" or "cuda").
        """
        def auto(name: str, text: str) -> str:
            made = decided.get(name)
            if made is None:
                return text
            made_text = _DECIDED_DEVICE.get(made, made) if name == "device" else str(made)
            return f"{text} (decided: {made_text})"

        def chosen(name: str, value: str | None) -> str:
            if value:
                return value
            made = decided.get(name)
            return f"{made} (chosen by SheetDL)" if made else "not set"

        return {
            "Target column": chosen("target", self.target),
            "Data sheet": chosen("sheet", self.sheet),
            "Ignore columns": ", ".join(self.ignore) if self.ignore else "none",
            "Time budget (seconds)": _format_seconds(self.time_budget),
            "Task": auto("task", "auto") if self.task == "auto" else self.task,
            "Device": auto("device", "auto") if self.device == "auto"
            else _DEVICE_NAMES[self.device],
            "Seed": str(self.seed),
            "Review threshold": f"{self.review_threshold:.0%}" if self.review_threshold else "none",
            "Fine-tune pictures": self.fine_tune,
            "Picture network": PICTURE_NETWORK_NAMES[self.picture_network],
        }


_DEVICE_NAMES = {"auto": "auto", "cpu": "cpu", "cuda": "gpu (cuda)"}
#: the device training ran on (torch's name) in the report's words
_DECIDED_DEVICE = {"cpu": "cpu", "cuda": "gpu"}


def review_threshold_of(described: Mapping[str, str]) -> float | None:
    """The review threshold kept with a model (``Settings.describe``'s words, e.g. "70%"), or None
    when there was none or the model comes from a SheetDL without the setting."""
    words = described.get("Review threshold", "none")
    try:
        return Settings().merged(review_threshold=None if words == "none" else words).review_threshold
    except SettingsError:
        return None


def _format_seconds(seconds: float) -> str:
    text = f"{seconds:g}"
    if seconds >= 120 and seconds % 60 == 0:
        minutes = seconds / 60
        if minutes >= 120 and minutes % 60 == 0:
            return f"{text} ({minutes / 60:g} hours)"
        return f"{text} ({minutes:g} minutes)"
    return text


# -- the SheetDL sheet ----------------------------------------------------------------------------

_NO_SETTINGS_SUFFIXES = {".csv", ".tsv", ".txt"}


def _cell(row: int, col: int) -> str:
    """0-based (row, col) → 'B4'."""
    letters = ""
    col += 1
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _open_workbook(path: Any):
    import python_calamine as pc

    try:
        if hasattr(path, "read"):
            return pc.CalamineWorkbook.from_filelike(path)
        if isinstance(path, (bytes, bytearray)):
            import io

            return pc.CalamineWorkbook.from_filelike(io.BytesIO(path))
        return pc.CalamineWorkbook.from_path(os.fspath(path))
    except FileNotFoundError:
        raise WorkbookError(f"Can't find the file '{path}'.",
                            hint="Check the name and folder of the workbook.") from None
    except pc.PasswordError:
        raise WorkbookError(f"The workbook '{_file_name(path)}' is protected by a password.",
                            hint="Save a copy without a password and use that.") from None
    except Exception as exc:  # calamine raises several kinds for a file that isn't a workbook
        raise WorkbookError(
            f"Can't open '{_file_name(path)}' as a workbook ({exc}).",
            hint="Save it from Excel as .xlsx and try again.",
        ) from None


def _file_name(path: Any) -> str:
    if isinstance(path, (str, os.PathLike)):
        return os.path.basename(os.fspath(path))
    return "the workbook"


def find_settings_sheet(names: list[str]) -> str | None:
    """The name of the workbook's SheetDL settings sheet among ``names``, or None."""
    for name in names:
        if _norm_key(name) in ("sheetdl", "sheetdlsettings"):
            return name
    return None


def read_settings_sheet(path: Any) -> tuple[dict[str, Any], list[str]]:
    """The SheetDL sheet's settings as keyword arguments for Settings, and notes.

    Returns ``({}, [])`` for a CSV or a workbook without such a sheet. Only settings with a value
    are returned (blank = not set). Values are already normalised and checked; a bad one raises
    :class:`SettingsError` naming its cell. ``path`` may also be bytes or a binary file object.
    """
    if isinstance(path, (str, os.PathLike)):
        if not os.path.exists(path):
            raise WorkbookError(f"Can't find the file '{os.fspath(path)}'.",
                                hint="Check the name and folder of the workbook.")
        if os.path.splitext(os.fspath(path))[1].lower() in _NO_SETTINGS_SUFFIXES:
            return {}, []
    book = _open_workbook(path)
    try:
        sheet_name = find_settings_sheet(list(book.sheet_names))
        if sheet_name is None:
            return {}, []
        rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    finally:
        book.close()
    return settings_from_rows(rows, sheet_name)


def settings_from_rows(rows: list[list[Any]], sheet_name: str) -> tuple[dict[str, Any], list[str]]:
    """Settings from a grid of cells (row 0 = sheet row 1, column 0 = A), see :func:`read_settings_sheet`;
    the live Excel reader (sheetdl.desktop) hands it the sheet's cells as Excel holds them."""
    notes: list[str] = []
    raw: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    ignore: list[str] = []
    ignore_cells: list[str] = []
    on_sheet = f"on the {sheet_name} sheet"
    previous_field: str | None = None
    known = ", ".join(SETTING_KEYS)

    # the table may start right of column A: keys sit in the leftmost used column, values beside
    used = [min((c for c, v in enumerate(row) if not _blank(v)), default=None) for row in rows]
    k = min((c for c in used if c is not None), default=0)
    for r, row in enumerate(rows):
        cells = list(row)[k:] + ["", ""]
        key_cell, value = cells[0], cells[1]
        if isinstance(value, str):
            value = value.strip()
        if _blank(key_cell):
            if _blank(value):
                continue
            if previous_field == "ignore":  # 'Ignore columns' continued on the rows below
                ignore.extend(_split_names(value))
                ignore_cells.append(_cell(r, k + 1))
            else:
                notes.append(f"{_cell(r, k + 1)} on the {sheet_name} sheet has a value but no "
                             f"setting name in {_cell(r, k)}; it was ignored.")
            continue
        key = _norm_key(str(_shown(key_cell)))
        if key in ("setting", "settings", "key", "name", "option") and (
            _blank(value) or _norm_key(str(value)) in ("value", "values")
        ):  # the header row of the table ("Setting" | "Value" | "Note")
            previous_field = None
            continue
        name = _KEY_TO_FIELD.get(key)
        previous_field = name
        if name is None:
            if not _blank(value) and not str(key_cell).strip().startswith("#"):
                notes.append(
                    f"Setting '{str(key_cell).strip()}' on the {sheet_name} sheet ({_cell(r, k)}) "
                    f"is not one SheetDL knows; it was ignored. Known settings: {known}."
                )
            continue
        if _blank(value):
            continue
        where = Source(f"{on_sheet} ({_cell(r, k + 1)})", sheet_name, _cell(r, k + 1))
        if name == "ignore":
            ignore.extend(_split_names(value))
            ignore_cells.append(_cell(r, k + 1))
            continue
        if name == "time_budget" and key in _BUDGET_UNIT_KEYS:
            value = (value, _BUDGET_UNIT_KEYS[key])
        if name in raw and _norm_key(str(raw[name])) != _norm_key(str(value)):
            label = _BY_FIELD[name].label
            first = sources[name].cell
            raise SettingsError(
                f"The '{label}' is set twice {on_sheet} ({first} and {_cell(r, k + 1)}): "
                f"'{_shown(raw[name])}' and '{_shown(value)}'.",
                hint="Keep one of them and clear the other.",
                sheet=sheet_name, cells=[first or "", _cell(r, k + 1)],
            )
        raw.setdefault(name, value)
        sources.setdefault(name, where)

    if ignore:
        raw["ignore"] = tuple(ignore)
        cells_text = ", ".join(ignore_cells)
        sources["ignore"] = Source(f"{on_sheet} ({cells_text})", sheet_name, ignore_cells[0])

    checked = Settings(**raw, sources=sources)  # normalises and raises, naming the cell
    return {name: getattr(checked, name) for name in raw}, notes
