"""Schema: what each column of a Table is (kind) and what we do with it (role), with the reason for
each; and the Table's raw cells as typed columns read the way the Schema says.

``infer_schema(table, target=..., ignore=(), task="auto", kinds=None)`` is a pure function of the
Table. ``typed_frame(table, schema)`` turns raw cells into typed pandas columns, one per *feature* and
the target, by kind:

- number   → float64, NaN for blank/unreadable ("1,234", "12%", "$5", "(3)" read as numbers)
- category → object, stripped strings (ints written without ".0"), None for blank; spellings that
             differ only in case or spacing read as one (the training table's most common spelling,
             kept in ``Column.parse["spellings"]``)
- boolean  → float64 1.0 / 0.0 / NaN (yes/no, true/false, y/n, 1/0)
- date     → datetime64[ns], NaT for blank/unreadable
- text     → object str / None
- image    → object str (the path as written) / None
- target   → classification: object labels as the user wrote them (str stripped; whole numbers as
             int; bool as bool), None where blank; regression: float64, NaN where blank.

The modules, in the order a column goes through them: ``cells`` (reading one cell: numbers with
commas, dates, yes/no words, spellings), ``kinds`` (a column's kind, with the named thresholds every
decision rests on), ``infer`` (``Column``, ``Schema``, ``infer_schema`` and the target's task),
``typed`` (``typed_frame``).
"""

from .cells import PLACEHOLDERS
from .infer import FEATURE_KINDS, Column, Kind, Role, Schema, Task, TaskSetting, infer_schema
from .kinds import (
    CATEGORY_MAX_SHARE,
    CATEGORY_MAX_VALUES,
    DATE_MIN_SHARE,
    ID_LAST_WORDS,
    ID_MIN_ROWS,
    ID_WORDS,
    IMAGE_EXTENSIONS,
    IMAGE_MIN_SHARE,
    MARKER_MIN_SHARE,
    NUMBER_MIN_SHARE,
    SPELLINGS_KEPT_MAX,
    TEXT_MIN_CHARS,
    TEXT_MIN_WORDS,
)
from .typed import typed_frame

__all__ = [
    "Kind",
    "Role",
    "Task",
    "TaskSetting",
    "Column",
    "Schema",
    "FEATURE_KINDS",
    "infer_schema",
    "typed_frame",
    "PLACEHOLDERS",
    "CATEGORY_MAX_SHARE",
    "CATEGORY_MAX_VALUES",
    "DATE_MIN_SHARE",
    "ID_LAST_WORDS",
    "ID_MIN_ROWS",
    "ID_WORDS",
    "IMAGE_EXTENSIONS",
    "IMAGE_MIN_SHARE",
    "MARKER_MIN_SHARE",
    "NUMBER_MIN_SHARE",
    "SPELLINGS_KEPT_MAX",
    "TEXT_MIN_CHARS",
    "TEXT_MIN_WORDS",
]
