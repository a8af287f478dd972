"""Column kinds for the task pane's column list, from a sample of the rows (infer_schema)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ...errors import DataError
from ...schema import infer_schema
from ..config import ServerConfig
from ..deps import get_config, require_token
from ..jobs import build_table
from .models import SchemaRequest

router = APIRouter(dependencies=[Depends(require_token)])


@router.post("/api/schema")
def preview_schema(body: SchemaRequest, config: ServerConfig = Depends(get_config)) -> dict:
    if len(body.rows) > config.max_schema_rows:
        raise DataError(f"Send at most {config.max_schema_rows:,} sample rows to preview the columns.",
                        hint="Send a sample of the rows.")
    table = build_table(sheet=body.sheet, header_row=1, first_col=1, columns=body.columns, rows=body.rows)
    target = body.target if body.target is not None and body.target in table.columns else _guess_target(table)
    ignore = [c for c in body.ignore if c in table.columns and c != target]
    schema = infer_schema(table, target=target, ignore=ignore)
    return {
        "columns": [{"name": c.name, "kind": c.kind, "role": c.role, "reason": c.reason} for c in schema.columns],
        "target": schema.target, "task": schema.task, "task_reason": schema.task_reason, "rows": table.n_rows,
    }


def _guess_target(table) -> str:
    """The column the user most likely wants predicted: the one with the most blank cells (rows to
    predict) while most rows are filled; else the last column."""
    best, most = table.columns[-1], 0
    for name in table.columns:
        blanks = int(table.values[name].isna().sum())
        if most < blanks < len(table.values) / 2:
            best, most = name, blanks
    return best
