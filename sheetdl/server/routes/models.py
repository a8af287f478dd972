"""Request bodies. ``extra="forbid"``: a field SheetDL does not know (a file path, say) is refused."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(max_length=32_767)]  # Excel's longest cell text
#: what Office.js gives for a cell: text, a number, TRUE/FALSE, or blank
Cell = Text | int | float | bool | None
#: a worksheet's name as Excel allows it: 1–31 characters, none of \ / ? * [ ] : and no control
#: characters such as NUL; a name that breaks these rules did not come from Excel
SheetName = Annotated[str, StringConstraints(min_length=1, max_length=31, pattern=r"^[^\x00-\x1f\\/?*\[\]:]+$")]
Name = Annotated[str, StringConstraints(max_length=255)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SchemaRequest(Strict):
    sheet: SheetName
    columns: list[Cell] = Field(max_length=1_000)
    rows: list[list[Cell]]
    target: Name | None = None
    ignore: list[Name] = Field(default_factory=list, max_length=1_000)


class CreateJob(Strict):
    kind: Literal["train", "predict"] = "train"
    workbook_id: Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
    sheet: SheetName
    header_row: int = Field(ge=1, le=1_048_576)
    first_col: int = Field(ge=1, le=16_384)
    columns: list[Cell] = Field(min_length=1, max_length=1_000)
    n_rows: int = Field(ge=1, le=1_048_576)
    sheet_max_col: int = Field(default=0, ge=0, le=16_384)
    existing_sheets: list[Name] = Field(default_factory=list, max_length=1_000)
    target: Name | None = None
    ignore: list[Name] = Field(default_factory=list, max_length=1_000)
    #: allow_inf_nan=False: early pydantic 2 releases (2.1.1, the floor, among them) let NaN through
    #: ge/le, as every comparison with NaN is false; said here, the bounds hold on every allowed pydantic
    time_budget: float = Field(default=60.0, ge=1.0, le=24 * 3600.0, allow_inf_nan=False)
    #: predictions less sure than this share are marked "Check" (classification); None = no marks
    review_threshold: float | None = Field(default=None, gt=0.0, lt=1.0, allow_inf_nan=False)
    task: Literal["auto", "classification", "regression"] = "auto"
    #: adapt the pretrained picture network to the pictures: auto (when a GPU trains), yes or no
    fine_tune: Literal["auto", "yes", "no"] = "auto"
    #: which pretrained network reads pictures (the SheetDL sheet's 'Picture network')
    picture_network: Literal["auto", "efficientnet-lite0", "resnet18", "scratch"] = "auto"
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    reasons: bool = True


class RowsChunk(Strict):
    start: int = Field(ge=0)
    rows: list[list[Cell]]
