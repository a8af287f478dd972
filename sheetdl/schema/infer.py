"""``infer_schema``: what each column is (kind) and what we do with it (role), with the reason for
each, and the target's task (classification or regression).

This module holds the types (``Column``, ``Schema``), ``infer_schema`` and the target's task decision;
``kinds.py`` decides a feature column's kind, ``cells.py`` reads cell values, ``typed.py`` turns a
table into typed columns the way a Schema says.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import DataError, SettingsError
from ..sheets import Table
from .cells import (
    Cells,
    cell_text,
    column_listing,
    find_column,
    label_key,
    label_of,
    label_sort_key,
    name_key,
    number_of,
)
from .kinds import ID_MIN_ROWS, Guess, Kind, base_guess, feature_guess, forced_guess, unreadable_note

__all__ = ["Kind", "Role", "Task", "TaskSetting", "Column", "Schema", "infer_schema", "FEATURE_KINDS"]

Role = Literal["target", "feature", "ignored"]
Task = Literal["classification", "regression"]
TaskSetting = Literal["auto", "classification", "regression"]

#: kinds a model can learn from
FEATURE_KINDS: tuple[str, ...] = ("number", "category", "boolean", "date", "text", "image")


@dataclass
class Column:
    name: str
    kind: Kind
    role: Role
    reason: str
    letter: str = ""
    n_missing: int = 0
    #: cells that held something we could not read as this kind (treated as blank)
    n_unreadable: int = 0
    notes: list[str] = field(default_factory=list)
    #: how this column's text is read, decided once on the training table and reused on new ones:
    #: {"decimal_comma": bool} for numbers, {"date_order": "dmy" | "mdy"} for dates
    parse: dict[str, Any] = field(default_factory=dict)


@dataclass
class Schema:
    columns: list[Column]
    target: str
    task: Task
    task_reason: str
    #: class labels as the user wrote them, in a stable order; None for regression
    classes: list[Any] | None = None

    @property
    def features(self) -> list[Column]:
        return [c for c in self.columns if c.role == "feature"]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["classes"] = _labels_to_json(self.classes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Schema:
        cols = [Column(**c) for c in d["columns"]]
        return cls(
            columns=cols,
            target=d["target"],
            task=d["task"],
            task_reason=d["task_reason"],
            classes=_labels_from_json(d.get("classes")),
        )


def _labels_to_json(labels):
    if labels is None:
        return None
    return [{"type": type(v).__name__, "value": v} for v in labels]


def _labels_from_json(items):
    if items is None:
        return None
    out = []
    for it in items:
        t, v = it["type"], it["value"]
        out.append(bool(v) if t == "bool" else int(v) if t == "int" else float(v) if t == "float" else str(v))
    return out


# ---------------------------------------------------------------------------------------------------
# Thresholds for the target and the task (the feature kinds' thresholds are in kinds.py).

#: a target of whole numbers with at most this many different values is classification...
CLASSIFICATION_MAX_INT_CLASSES = 10
#: ...or at most this many when at least MANY_ROWS rows are labelled
CLASSIFICATION_MAX_INT_CLASSES_MANY_ROWS = 20
MANY_ROWS = 1000
#: a target with more classes than this needs TARGET_MIN_ROWS_PER_CLASS labelled rows per class on average
TARGET_MAX_CLASSES = 100
TARGET_MIN_ROWS_PER_CLASS = 5
#: regression needs at least this many labelled rows
REGRESSION_MIN_ROWS = 5
#: columns SheetDL writes beside the data; read back, they must not be learned from
OUTPUT_COLUMNS = ("Confidence", "Low", "High", "Why")

_KINDS = ("number", "category", "boolean", "date", "text", "image", "id", "constant")


# ---------------------------------------------------------------------------------------------------
# Names, and how a column or its labels are named in an error


def _resolve(table: Table, name, what: str) -> int:
    i = find_column(table.columns, str(name))
    if i is None:
        raise DataError(
            f"There is no column '{name}' on sheet '{table.sheet}'. "
            f"The columns are: {column_listing(table.columns)}.",
            hint=f"Check the spelling of {what}.",
            sheet=table.sheet,
            column=str(name),
        )
    return i


def _is_output_column(name: str, target: str, has_prediction: bool) -> bool:
    base = re.sub(r" \(\d+\)$", "", name.strip())
    if name_key(base) == name_key(f"Predicted {target}"):
        return True
    return has_prediction and any(name_key(base) == name_key(o) for o in OUTPUT_COLUMNS)


def _show(labels, limit: int = 5) -> str:
    shown = [str(cell_text(("bool", x)) if isinstance(x, bool) else x) for x in labels[:limit]]
    more = f" and {len(labels) - limit:,} more" if len(labels) > limit else ""
    return ", ".join(shown) + more


def _target_error_where(table: Table, i: int) -> str:
    return f"'{table.columns[i]}' (column {table.letters[i]})" if i < len(table.letters) else f"'{table.columns[i]}'"


# ---------------------------------------------------------------------------------------------------
# infer_schema, and the target's task


def infer_schema(
    table: Table,
    *,
    target: str,
    ignore=(),
    task: TaskSetting = "auto",
    kinds: dict[str, Kind] | None = None,
) -> Schema:
    """Decide each column's kind and role, and the task, with a reason in plain words for each."""
    t_idx, ignored, overrides = _read_choices(table, target, ignore, task, kinds)
    target_name = table.columns[t_idx]
    has_prediction = any(
        _is_output_column(c, target_name, False) for i, c in enumerate(table.columns) if i != t_idx
    )
    columns: list[Column] = []
    target_info = None
    for i, name in enumerate(table.columns):
        letter = table.letters[i] if i < len(table.letters) else ""
        arr = table.values.iloc[:, i].to_numpy(dtype=object)
        if i == t_idx:
            target_col, target_info = _infer_target(table, i, arr, task, overrides.get(i))
            columns.append(target_col)
        elif i in ignored:
            columns.append(Column(name, "constant", "ignored", "ignored: you asked to ignore it", letter,
                                  n_missing=int(sum(v is None for v in arr))))
            _set_ignored_kind(columns[-1], arr, name)
        elif _is_output_column(name, target_name, has_prediction):
            columns.append(Column(name, "text", "ignored", "ignored: SheetDL's own output from an earlier run",
                                  letter))
            _set_ignored_kind(columns[-1], arr, name)
        else:
            columns.append(_feature_column(table, name, letter, arr, overrides.get(i)))
    assert target_info is not None  # the target is one of the table's columns (checked above)
    task_, task_reason, classes = target_info
    return Schema(columns=columns, target=target_name, task=task_, task_reason=task_reason, classes=classes)


def _read_choices(table: Table, target: str, ignore, task: str,
                  kinds: dict[str, Kind] | None) -> tuple[int, set[int], dict[int, Kind]]:
    """(the target's position, the positions to ignore, kinds set by the user by position), the
    names found as the table spells them; what can't be found or doesn't fit is refused in words."""
    if task not in ("auto", "classification", "regression"):
        raise SettingsError(
            f"The task '{task}' is not one SheetDL knows.",
            hint="Use auto, classification or regression.",
        )
    seen: dict[str, str] = {}
    for c in table.columns:
        if c in seen:
            raise DataError(
                f"Two columns on sheet '{table.sheet}' are both named '{c}'.",
                hint="Give each column its own name in the header row.",
                sheet=table.sheet,
                column=c,
            )
        seen[c] = c
    if isinstance(ignore, str):
        ignore = [ignore]
    t_idx = _resolve(table, target, "the target column")
    ignored = {_resolve(table, n, "the columns to ignore") for n in ignore or ()}
    overrides: dict[int, Kind] = {}
    for n, k in (kinds or {}).items():
        if k not in _KINDS:
            raise SettingsError(
                f"The kind '{k}' set for column '{n}' is not one SheetDL knows.",
                hint="Use one of: " + ", ".join(_KINDS) + ".",
                column=str(n),
            )
        overrides[_resolve(table, n, "the column names given with their kinds")] = k
    if t_idx in ignored:
        target_name = table.columns[t_idx]
        raise DataError(
            f"'{target_name}' is the target column, so it can't also be ignored.",
            hint="Remove it from the columns to ignore, or choose another target.",
            sheet=table.sheet,
            column=target_name,
        )
    return t_idx, ignored, overrides


def _feature_column(table: Table, name: str, letter: str, arr: np.ndarray, forced: Kind | None) -> Column:
    """A feature column: its kind (guessed, or set by the user), and ignored when nothing can learn
    from that kind (an id, a constant)."""
    cells = Cells(arr)
    g = forced_guess(cells, forced) if forced is not None else feature_guess(cells, name)
    role: Role = "feature"
    reason = g.reason
    notes = list(g.notes)
    if g.kind not in FEATURE_KINDS:
        role = "ignored"
        if forced is not None:
            reason = f"ignored: you set it as {g.kind}"
    if g.n_unreadable:
        notes.append(unreadable_note(table, name, g))
    return Column(name, g.kind, role, reason, letter, n_missing=int(g.n_missing),
                  n_unreadable=int(g.n_unreadable), notes=notes, parse=dict(g.parse))


def _set_ignored_kind(col: Column, arr: np.ndarray, name: str) -> None:
    """An ignored column still gets a kind, so the report can say what it held."""
    try:
        col.kind = feature_guess(Cells(arr), name).kind
    except Exception:  # the kind of a column nobody uses is a nicety
        pass


#: what the target decides: (task, its reason in words, the class labels or None for regression)
TaskDecision = tuple[Task, str, "list[Any] | None"]


@dataclass
class _Target:
    """The target column while its task is decided."""

    table: Table
    i: int
    where: str  # "'Churn' (column F)", for messages
    labelled: np.ndarray  # which rows have a value
    cells: Cells  # the labelled rows' cells
    guess: Guess
    col: Column
    comma: bool  # numbers written with a decimal comma
    numeric: bool  # numbers (or yes/no written 1/0)

    @property
    def name(self) -> str:
        return self.col.name

    def error(self, message: str, hint: str) -> DataError:
        return DataError(message, hint=hint, sheet=self.table.sheet, column=self.name)


def _infer_target(table: Table, i: int, arr: np.ndarray, task: str,
                  forced_kind: Kind | None) -> tuple[Column, TaskDecision]:
    """The target's Column, and whether it is classification or regression (and why)."""
    target = _read_target(table, i, arr, forced_kind)
    if task == "regression" or (task == "auto" and target.guess.kind == "number"):
        decided = _as_regression(target, task)
        if decided is not None:
            return target.col, decided
    return target.col, _as_classification(target, task)


def _read_target(table: Table, i: int, arr: np.ndarray, forced_kind: Kind | None) -> _Target:
    """The target's cells and kind; blank everywhere, dates or pictures are refused in words."""
    name = table.columns[i]
    letter = table.letters[i] if i < len(table.letters) else ""
    where = _target_error_where(table, i)
    all_cells = Cells(arr)
    labelled = all_cells.filled
    if not labelled.any():
        raise DataError(
            f"Every cell in the target column {where} is blank, so there is nothing to learn from.",
            hint="Fill in the target for the rows you know.",
            sheet=table.sheet,
            column=name,
        )
    cells = all_cells.subset(labelled)
    g = forced_guess(cells, forced_kind) if forced_kind else base_guess(cells)
    kind = g.kind
    if kind in ("date", "image"):
        what = "dates" if kind == "date" else "picture file names"
        raise DataError(
            f"The target column {where} holds {what}; SheetDL can predict categories or numbers.",
            hint="Choose a column of categories (like Yes/No) or numbers as the target.",
            sheet=table.sheet,
            column=name,
        )
    col = Column(name, kind if kind in _KINDS else "category", "target", "target", letter,
                 n_missing=int(all_cells.n_rows - cells.n_filled), parse=dict(g.parse))
    return _Target(table=table, i=i, where=where, labelled=labelled, cells=cells, guess=g, col=col,
                   comma=bool(g.parse.get("decimal_comma", False)),
                   numeric=kind == "number" or (kind == "boolean" and g.reason.endswith("(1/0)")))


def _as_regression(target: _Target, task: str) -> TaskDecision | None:
    """Regression for a number target, unless (task auto) it holds few whole numbers: then None, and
    they are classes. Unreadable cells are noted on the column either way."""
    name, where, g = target.name, target.where, target.guess
    if not target.numeric and task == "regression":
        raise target.error(
            f"The target column {where} holds {'yes/no values' if g.kind == 'boolean' else 'text'}, "
            "not numbers, so it can't be predicted as a number (regression).",
            hint="Set the task to classification, or choose a column of numbers as the target.")
    cells = target.cells
    if cells.floats is not None:
        bad, nums = [], cells.floats
    else:
        values = [number_of(k, target.comma) for k in cells.rows]
        bad = [j for j, x in zip(np.flatnonzero(target.labelled), values) if x is None]
        nums = np.array([x for x in values if x is not None], dtype=float)
    if bad:
        target.col.n_unreadable = len(bad)
        g.unreadable = [int(j) for j in bad]
        g.kind = "number"
        target.col.notes.append(unreadable_note(target.table, name, g))
    distinct = np.unique(nums)
    whole = bool(len(nums)) and bool(np.all(np.mod(nums, 1) == 0))
    limit = CLASSIFICATION_MAX_INT_CLASSES_MANY_ROWS if len(nums) >= MANY_ROWS else CLASSIFICATION_MAX_INT_CLASSES
    if task == "auto" and whole and 2 <= len(distinct) <= limit:
        return None  # few whole numbers: classes
    if len(distinct) == 1:
        raise _same_value_error(target.table, target.i, _show([label_of(("num", float(distinct[0])), "number")]))
    if len(nums) < REGRESSION_MIN_ROWS:
        raise target.error(
            f"Only {len(nums)} row{'s' if len(nums) != 1 else ''} have a number in the target "
            f"column {where}; SheetDL needs at least {REGRESSION_MIN_ROWS} to learn from.",
            hint="Fill in the target for more of the rows you know.")
    target.col.kind = "number"
    if task == "regression":
        reason = f"regression: you asked for it; '{name}' holds numbers with {len(distinct):,} different values"
    else:
        reason = f"regression: '{name}' holds numbers with {len(distinct):,} different values"
    return "regression", reason, None


def _as_classification(target: _Target, task: str) -> TaskDecision:
    """The classes: one per label, spellings that differ in case or spaces read as one; a target with
    one value, a different value on every row, or too few rows per value is refused in words."""
    name, where, kind = target.name, target.where, target.guess.kind
    labels = [label_of(k, kind, target.comma) for k in target.cells.rows]
    spelling: dict[tuple, Counter] = {}
    for lab in labels:
        if lab is not None:
            spelling.setdefault(label_key(lab), Counter())[lab] += 1
    # one class per label key (so "yes" and "Yes" are one class), spelt the most common way;
    # counted by key, since False == 0 and True == 1 would merge in a plain Counter
    by_key = {key: max(sorted(c, key=label_sort_key), key=lambda s: c[s]) for key, c in spelling.items()}
    size = {key: sum(c.values()) for key, c in spelling.items()}
    classes = sorted(by_key.values(), key=label_sort_key)
    if len(classes) == 1:
        raise _same_value_error(target.table, target.i, _show(classes))
    n_labelled = sum(size.values())
    if len(classes) == n_labelled and n_labelled >= ID_MIN_ROWS:
        raise target.error(
            f"The target column {where} has a different value on every labelled row, "
            "so there are no groups to learn.",
            hint="Choose a column whose values repeat (like categories) or hold numbers as the target.")
    if len(classes) > TARGET_MAX_CLASSES and n_labelled < TARGET_MIN_ROWS_PER_CLASS * len(classes):
        raise target.error(
            f"The target column {where} holds {len(classes):,} different values in {n_labelled:,} labelled "
            f"rows (about {n_labelled / len(classes):.1f} rows each), too few to learn each one "
            f"({_show(classes)}).",
            hint=f"Choose a target with fewer values, group rare values into one (like 'Other'), or label "
                 f"at least {TARGET_MIN_ROWS_PER_CLASS} rows for each value.")
    _note_spellings_and_lonely_classes(target, spelling, by_key, size, classes)
    if task == "classification":
        reason = (f"classification: you asked for it; '{name}' holds {len(classes):,} different values "
                  f"({_show(classes)})")
    elif target.numeric and kind == "number":
        reason = (f"classification: '{name}' holds whole numbers with only {len(classes):,} "
                  f"different values ({_show(classes)})")
    else:
        reason = f"classification: '{name}' holds {len(classes):,} categories ({_show(classes)})"
    return "classification", reason, classes


def _note_spellings_and_lonely_classes(target: _Target, spelling: dict[tuple, Counter], by_key: dict,
                                       size: dict, classes: list) -> None:
    """Notes for the report: labels taken as one despite their spelling, and classes with one row."""
    name = target.name
    variants = {by_key[key]: [str(v) for v in c if v != by_key[key]] for key, c in spelling.items()
                if isinstance(by_key[key], str) and len(c) > 1}
    if variants:
        shown = "; ".join(f"'{main}' (also written " + ", ".join(f"'{v}'" for v in vs[:3]) + ")"
                          for main, vs in list(variants.items())[:3])
        target.col.notes.append(f"In the target '{name}', labels that differ only in capitals or spaces were "
                                f"taken as one: {shown}. Predictions use the most common spelling.")
    lonely = [c for c in classes if size[label_key(c)] == 1]
    if lonely:
        target.col.notes.append(
            f"Only one labelled row has {_show(lonely)} in '{name}'; SheetDL can't learn much about "
            f"{'it' if len(lonely) == 1 else 'them'}. Label more rows like {'it' if len(lonely) == 1 else 'them'} "
            "if you can."
        )


def _same_value_error(table: Table, i: int, value: str) -> DataError:
    name = table.columns[i]
    return DataError(
        f"'{name}' has the same value '{value}' on every labelled row, so there is nothing to tell apart.",
        hint="Fill in the target for rows with other values, or choose another target column.",
        sheet=table.sheet,
        column=name,
    )
