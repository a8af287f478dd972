"""The .xlsx/.xlsm writer that changes only what it must.

openpyxl rebuilds a workbook from its own model of it, so whatever it does not model (sparklines, text
boxes, slicers, chart styles, x14 extensions …) is missing from its copy, and loading and saving every
cell of a big sheet takes seconds. This writer treats the workbook as the zip package it is: every part
the edits do not concern is copied byte for byte (its compressed bytes, not even re-deflated), and the
few parts it must change are changed by text surgery that leaves the rest of their XML as it was:

- a sheet that gets cells: only the ``<row>`` elements that get cells are rewritten (new cells go in
  column order; existing cells are never overwritten); ``<dimension>``, ``<cols>``, the sheet view's
  pane, conditional formats and ``<drawing>`` are updated or added where the schema wants them;
- ``xl/styles.xml``: the fonts, fills, borders, number formats and cell formats the edits need are
  appended; existing indexes never move, so every existing cell keeps its look;
- ``xl/workbook.xml``, its rels and ``[Content_Types].xml``: new sheets are appended at the end, so no
  sheet index a defined name or a view refers to shifts;
- new sheets, drawings, charts and pictures are new parts, appended to the zip; a sheet's pictures and
  charts share its one drawing part (the one it has, or a new one).

Anything this writer can't change safely (strict OOXML, rows or cells without their reference, a part
that is not UTF-8, missing parts …) raises :class:`Unsupported` before anything is written; the caller
then falls back to openpyxl, which says what it lost.

The writer is split by what each piece knows about. This module knows the zip package as a whole:
its parts, relationships and content types, the workbook's sheet list, and saving the copy
(:class:`Package`). :mod:`.worksheet` knows one sheet (the edits gathered for it, and the text surgery
on its XML), :mod:`.styles` the cell formats appended to ``xl/styles.xml``, :mod:`.drawing` the XML of
charts, pictures and their anchors; :mod:`.xmltext` holds the text-level XML helpers they share (and
:class:`Unsupported`), :mod:`.zipcopy` the copying of an unchanged part's compressed bytes.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree as ET

from ...errors import OutputError, WorkbookError
from ..edits import SHEET_EDITS, AddPicture, AddSheet, Edit
from .drawing import EMPTY_DRAWING, DrawingXml, cell_sizes, chart_xml
from .styles import EMPTY_STYLES, Styles
from .worksheet import (
    Conflict,
    SheetChanges,
    SheetXml,
    add_color_scales,
    edit_cells,
    edit_cols,
    edit_freeze,
    new_sheet_xml,
)
from .xmltext import DECL, MAIN_NS, R_NS, Unsupported, decode_part, get_attr, ns_prefix, prefix_of, quote_attr, set_attr
from .zipcopy import copy_member

__all__ = ["Package", "Unsupported"]

_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_RT = R_NS + "/"  # relationship types: _RT + "worksheet"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
_CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
_CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
_CT_PNG = "image/png"
_CT_MAIN = {
    False: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    True: "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
}
#: changed parts bigger than this are deflated at level 1 (speed over size)
_FAST_DEFLATE_BYTES = 1 << 20
#: a picture's media part; a new one gets a number no existing one has, whatever its extension
_MEDIA_NAME = re.compile(r"^xl/media/image(\d+)\.[^/]*$", re.I)


# =================================================================================================
# the package
# =================================================================================================


@dataclass
class _Sheet:
    name: str
    part: str
    kind: str  # relationship type: worksheet, chartsheet, dialogsheet …
    rid: str


def _rels_path(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


def _parse_rels(data: bytes, part: str) -> list[tuple[str, str, str]]:
    """(Id, type's last segment, target part name) of each internal relationship in a .rels part."""
    folder = posixpath.dirname(part)
    out = []
    for el in ET.fromstring(data).iter(f"{{{_REL_NS}}}Relationship"):
        if el.get("TargetMode") == "External":
            continue
        target = unquote(el.get("Target", ""))
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out.append((el.get("Id", ""), el.get("Type", "").rsplit("/", 1)[-1], target))
    return out


def _empty_rels() -> str:
    return f'{DECL}<Relationships xmlns="{_REL_NS}"></Relationships>'


class Package:
    """A copy of a workbook package being made: the source zip, plus the parts changed, added and
    removed so far. ``apply`` may be called more than once (the report's "could not be carried over"
    section comes after a first save); ``save`` writes the copy to an open binary file."""

    def __init__(self, path, *, macro_enabled: bool):
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as e:
            raise WorkbookError(
                f"Can't open '{self.path.name}' to copy it ({e}).",
                hint="Check that it is a workbook and not password-protected or damaged; open and re-save it in "
                     "Excel if in doubt.") from e
        try:
            self._setup(macro_enabled)
        except (ValueError, KeyError, IndexError) as e:
            self._zip.close()
            raise Unsupported(f"{self.path.name}: {e!r}") from e
        except BaseException:
            self._zip.close()
            raise

    def _setup(self, macro_enabled: bool) -> None:
        self._infos = self._zip.infolist()
        self._names = {i.filename.lower(): i.filename for i in self._infos}
        self._parts: dict[str, bytes | str] = {}  # changed and new parts
        self._new: list[str] = []  # new part names, in the order they were made
        self._removed: set[str] = set()
        self._collect = False  # drop parts nothing refers to any more (after replacing a sheet)
        self._media_parts: dict[bytes, str] = {}  # PNG bytes → the media part made for them
        if any(i.flag_bits & 0x1 for i in self._infos):
            raise Unsupported("encrypted zip members")
        self._types = self._text("[Content_Types].xml")
        book = next((t for _, rtype, t in self._rels("") if rtype == "officeDocument"), None)
        if not book or not self._exists(book):
            raise Unsupported("no workbook part")
        self.book: str = book
        self._book_rels = _rels_path(self.book)
        if not self._exists(self._book_rels):
            raise Unsupported("the workbook part has no relationships")
        book_xml = self._text(self.book)
        self._bp, root = prefix_of(book_xml, "workbook")
        if f'"{MAIN_NS}"' not in root.group(0) and f"'{MAIN_NS}'" not in root.group(0):
            raise Unsupported("not transitional SpreadsheetML (strict OOXML?)")
        self._sheets = self._read_sheets(book_xml)
        pr = re.search(rf"<{self._bp}workbookPr\b([^>]*)>", book_xml)
        self.date1904 = pr is not None and get_attr(pr.group(1), "date1904") in ("1", "true")
        self._styles: Styles | None = None
        self._styles_part: str | None = next((t for _, rtype, t in self._rels(self.book) if rtype == "styles"), None)
        self._set_main_type(macro_enabled)

    # ---- the public side ----

    @property
    def drops_parts(self) -> bool:
        """Whether the copy leaves out parts of the source (a replaced sheet's old content, the macros
        of an .xlsm saved as .xlsx); otherwise it holds every part of the source, so nothing is lost."""
        return self._collect

    def apply(self, edits: Sequence[Edit]) -> None:
        """Apply ``edits`` in order. Each sheet's XML is rewritten once, after all its edits are known."""
        pending: dict[str, tuple[_Sheet, SheetChanges]] = {}
        for e in edits:
            if isinstance(e, AddSheet):
                sheet = self._add_sheet(e)
                pending[sheet.part] = (sheet, SheetChanges())
                continue
            assert isinstance(e, SHEET_EDITS)  # every edit but AddSheet changes one sheet it names
            sheet = self._find(e.sheet)
            pending.setdefault(sheet.part, (sheet, SheetChanges()))[1].add(e, self.date1904)
        for sheet, ed in pending.values():
            try:
                self._edit_sheet(sheet, ed)
            except (ValueError, KeyError, IndexError) as e:  # the edits were checked: the sheet is odd
                raise Unsupported(f"{sheet.part}: {e!r}") from e
            except Conflict as c:
                raise OutputError(
                    f"SheetDL would have written over cell {c} of sheet '{sheet.name}', which already holds "
                    "a value; nothing was written.",
                    hint="This is a bug in SheetDL: please report it. Your workbook was not changed.",
                    sheet=sheet.name) from None

    def save(self, f) -> None:
        """Write the copy: parts in the source's order, each unchanged one with its compressed bytes as
        they were, then the new parts."""
        if self._styles is not None:
            text = self._styles.render()
            if text is not None and self._styles_part is not None:  # the styles' part: _styles_for made it
                self._put(self._styles_part, text)
        if self._collect:
            self._collect_garbage()
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
            for info in self._infos:
                name = info.filename
                if name in self._removed:
                    continue
                if name in self._parts:
                    self._write(out, name, self._parts[name], info)
                else:
                    copy_member(self._zip, out, info)
            for name in self._new:
                if name not in self._removed:
                    self._write(out, name, self._parts[name], None)

    def close(self) -> None:
        self._zip.close()

    # ---- parts ----

    def _exists(self, name: str) -> bool:
        if name in self._removed:
            return False
        return name in self._parts or name.lower() in self._names

    def _read(self, name: str) -> bytes:
        if name in self._removed:
            raise KeyError(name)
        data = self._parts.get(name)
        if data is not None:
            return data.encode("utf-8") if isinstance(data, str) else data
        real = self._names.get(name.lower())
        if real is None:
            raise KeyError(name)
        return self._zip.read(real)

    def _text(self, name: str) -> str:
        data = self._parts.get(name)
        if isinstance(data, str):
            return data
        try:
            return decode_part(self._read(name), name)
        except KeyError:
            raise Unsupported(f"missing part {name}") from None

    def _put(self, name: str, data: str | bytes) -> None:
        real = self._names.get(name.lower(), name)
        self._removed.discard(real)
        if real not in self._parts and real.lower() not in self._names and real not in self._new:
            self._new.append(real)
        self._parts[real] = data

    def _remove(self, name: str) -> None:
        real = self._names.get(name.lower(), name)
        self._removed.add(real)
        self._types = re.sub(rf"<(?:[\w.-]+:)?Override\b[^>]*PartName=\"/{re.escape(real)}\"[^>]*/>", "",
                             self._types, flags=re.I)
        self._put("[Content_Types].xml", self._types)

    def _fresh(self, stem: str, ext: str) -> str:
        n = 1
        while self._exists(f"{stem}{n}{ext}") or f"{stem}{n}{ext}".lower() in self._names:
            n += 1
        return f"{stem}{n}{ext}"

    def _write(self, out: zipfile.ZipFile, name: str, data, like: zipfile.ZipInfo | None) -> None:
        data = data.encode("utf-8") if isinstance(data, str) else data
        info = zipfile.ZipInfo(name, date_time=like.date_time if like else (1980, 1, 1, 0, 0, 0))
        info.compress_type = like.compress_type if like else zipfile.ZIP_DEFLATED
        if like is not None:
            info.external_attr = like.external_attr
        # a big sheet deflates 4x faster at level 1, for a file ~15% bigger (Excel re-packs it on saving)
        out.writestr(info, data, compresslevel=1 if len(data) > _FAST_DEFLATE_BYTES else None)

    # ---- relationships and content types ----

    def _rels(self, part: str) -> list[tuple[str, str, str]]:
        """(Id, type's last segment, target part) of a part's internal relationships."""
        name = _rels_path(part) if part else "_rels/.rels"
        try:
            return _parse_rels(self._read(name), part)
        except KeyError:
            return []
        except ET.ParseError as e:
            raise Unsupported(f"{name}: {e}") from e

    def _add_rel(self, part: str, rtype: str, target: str) -> str:
        """Add a relationship from ``part`` to ``target``; its new Id."""
        name = _rels_path(part)
        text = self._text(name) if self._exists(name) else _empty_rels()
        ids = set(re.findall(r"""\bId\s*=\s*["']([^"']*)["']""", text))
        n = 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        rel_target = posixpath.relpath(target, posixpath.dirname(part) or ".")
        m = re.search(r"</(?:[\w.-]+:)?Relationships\s*>", text)
        if m is None:
            m = re.search(r"<(?:[\w.-]+:)?Relationships\b[^>]*/>", text)
            if m is None:
                raise Unsupported(f"{name} has no <Relationships>")
            text = text[:m.start()] + m.group(0)[:-2] + "></Relationships>" + text[m.end():]
            m = re.search(r"</Relationships\s*>", text)
            assert m is not None  # just made
        rel = f'<Relationship Id="{rid}" Type="{_RT}{rtype}" Target={quote_attr(rel_target)}/>'
        text = text[:m.start()] + rel + text[m.start():]
        self._put(name, text)
        return rid

    def _drop_rels(self, part: str, rtype: str) -> bool:
        """Remove ``part``'s relationships of one type; whether there were any."""
        name = _rels_path(part)
        if not self._exists(name):
            return False
        text = self._text(name)
        new = re.sub(rf"""<(?:[\w.-]+:)?Relationship\b[^>]*Type\s*=\s*["'][^"']*/{rtype}["'][^>]*/>""", "", text)
        if new != text:
            self._put(name, new)
            return True
        return False

    def _override(self, part: str, ctype: str) -> None:
        name = re.escape(part)
        tag = r"<(?:[\w.-]+:)?Override\b[^>]*"
        rx = re.compile(rf'({tag}PartName="/{name}"[^>]*ContentType=")([^"]*)(")', re.I)
        rx2 = re.compile(rf'({tag}ContentType=")([^"]*)("[^>]*PartName="/{name}")', re.I)
        for r in (rx, rx2):
            m = r.search(self._types)
            if m:
                if m.group(2) != ctype:
                    self._types = self._types[:m.start(2)] + ctype + self._types[m.end(2):]
                    self._put("[Content_Types].xml", self._types)
                return
        m = re.search(r"</(?:[\w.-]+:)?Types\s*>", self._types)
        if m is None:
            raise Unsupported("[Content_Types].xml has no <Types>")
        self._types = (self._types[:m.start()] + f'<Override PartName="/{part}" ContentType="{ctype}"/>'
                       + self._types[m.start():])
        self._put("[Content_Types].xml", self._types)

    def _set_main_type(self, macro_enabled: bool) -> None:
        """The workbook part's content type says .xlsx or .xlsm (Excel refuses a file whose name and
        content type disagree); an .xlsx can't hold macros, so they are dropped from it."""
        self._override(self.book, _CT_MAIN[macro_enabled])
        if not macro_enabled and self._drop_rels(self.book, "vbaProject"):
            self._collect = True

    # ---- sheets ----

    def _read_sheets(self, book_xml: str) -> list[_Sheet]:
        rels = {rid: (rtype, target) for rid, rtype, target in self._rels(self.book)}
        try:
            root = ET.fromstring(book_xml.encode("utf-8"))
        except ET.ParseError as e:
            raise Unsupported(f"{self.book}: {e}") from e
        out = []
        for el in root.iter(f"{{{MAIN_NS}}}sheet"):
            rid = el.get(f"{{{R_NS}}}id", "")
            rtype, target = rels.get(rid, ("", ""))
            out.append(_Sheet(el.get("name", ""), target, rtype, rid))
        self._max_sheet_id = max([0] + [int(el.get("sheetId", "0") or 0) for el in root.iter(f"{{{MAIN_NS}}}sheet")])
        return out

    def _find(self, name: str) -> _Sheet:
        worksheets = [s for s in self._sheets if s.kind == "worksheet"]
        sheet = next((s for s in worksheets if s.name == name), None) or \
            next((s for s in worksheets if s.name.casefold() == name.casefold()), None)
        if sheet is None:
            raise OutputError(f"The workbook has no sheet '{name}' to write results to.", sheet=name)
        if not self._exists(sheet.part):
            raise Unsupported(f"sheet part {sheet.part} is missing")
        return sheet

    def _add_sheet(self, e: AddSheet) -> _Sheet:
        bad = re.search(r"[\[\]:*?/\\]", e.name)
        if bad or not e.name.strip() or len(e.name) > 31 or e.name.startswith("'") or e.name.endswith("'"):
            raise OutputError(f"'{e.name}' can't be a sheet name: Excel allows up to 31 characters, without "
                              "[ ] : * ? / \\ and not starting or ending with an apostrophe.", sheet=e.name)
        existing = next((s for s in self._sheets if s.name.casefold() == e.name.casefold()), None)
        if existing is not None:
            if not e.replace:
                raise OutputError(f"The workbook already has a sheet '{e.name}'.", sheet=e.name,
                                  hint="Rename or delete that sheet, then run again.")
            return self._replace_sheet(existing, e)
        part = self._fresh("xl/worksheets/sheet", ".xml")
        rid = self._add_rel(self.book, "worksheet", part)
        self._max_sheet_id += 1
        book = self._text(self.book)
        p = self._bp
        m = re.search(rf"</{p}sheets\s*>", book)
        if m is None:
            raise Unsupported("the workbook has no <sheets>")
        rp = ns_prefix(prefix_of(book, "workbook")[1].group(0), R_NS)
        rid_attr = f'{rp}:id="{rid}"' if rp else f'xmlns:r="{R_NS}" r:id="{rid}"'
        tag = f'<{p}sheet name={quote_attr(e.name)} sheetId="{self._max_sheet_id}" {rid_attr}/>'
        self._put(self.book, book[:m.start()] + tag + book[m.start():])
        self._put(part, new_sheet_xml(e.tab_color))
        self._override(part, _CT_SHEET)
        sheet = _Sheet(e.name, part, "worksheet", rid)
        self._sheets.append(sheet)
        return sheet

    def _replace_sheet(self, sheet: _Sheet, e: AddSheet) -> _Sheet:
        """An empty sheet in place of an existing one, at the same position and under the same part
        name; what only the old sheet used (its drawings, tables, comments …) is dropped on saving, and
        so is the calculation chain, which may list the old sheet's formulas."""
        if sheet.kind != "worksheet":
            raise Unsupported("replacing a chart sheet")
        rels = _rels_path(sheet.part)
        if self._exists(rels):
            self._remove(rels)
        self._put(sheet.part, new_sheet_xml(e.tab_color))
        self._drop_rels(self.book, "calcChain")
        self._collect = True
        if sheet.name != e.name:
            book = self._text(self.book)
            for m in re.finditer(rf"<{self._bp}sheet\b([^>]*?)/?>", book):
                if get_attr(m.group(1), "name") is not None and re.search(
                        rf"""[\w.-]+:id\s*=\s*["']{re.escape(sheet.rid)}["']""", m.group(1)):
                    new = f"<{self._bp}sheet" + set_attr(m.group(1), "name", e.name) + "/>"
                    self._put(self.book, book[:m.start()] + new + book[m.end():])
                    break
            sheet.name = e.name
        return sheet

    def _styles_for(self) -> Styles:
        if self._styles is None:
            if self._styles_part is None or not self._exists(self._styles_part):
                # the usual name first: some readers (openpyxl) look for it there, whatever the rels say
                self._styles_part = "xl/styles.xml" if not self._exists("xl/styles.xml") else \
                    self._fresh("xl/styles", ".xml")
                self._put(self._styles_part, EMPTY_STYLES)
                self._add_rel(self.book, "styles", self._styles_part)
                self._override(self._styles_part, _CT_STYLES)
            self._styles = Styles(self._text(self._styles_part))
        return self._styles

    def _edit_sheet(self, sheet: _Sheet, ed: SheetChanges) -> None:
        if not (ed.cells or ed.widths or ed.heights or ed.freeze or ed.scales or ed.drawn):
            return
        doc = SheetXml(self._text(sheet.part), sheet.part)
        edit_cells(doc, ed, self._styles_for)
        edit_cols(doc, ed.widths)
        if ed.freeze:
            edit_freeze(doc, ed.freeze)
        if ed.scales:
            add_color_scales(doc, ed.scales)
        if ed.drawn:
            self._add_drawn(sheet, doc, ed)
        self._put(sheet.part, doc.text())

    # ---- drawings: charts and pictures ----

    def _add_drawn(self, sheet: _Sheet, doc: SheetXml, ed: SheetChanges) -> None:
        """Charts and pictures, appended to the sheet's drawing (made when it has none)."""
        drawing = next((t for _, rtype, t in self._rels(sheet.part) if rtype == "drawing"), None)
        if drawing is not None and not self._exists(drawing):
            raise Unsupported(f"drawing part {drawing} is missing")
        if drawing is None:
            drawing = self._fresh("xl/drawings/drawing", ".xml")
            self._put(drawing, EMPTY_DRAWING)
            self._override(drawing, _CT_DRAWING)
            rid = self._add_rel(sheet.part, "drawing", drawing)
            pfx, decl = doc.r_prefix()
            doc.insert("drawing", f'<{doc.p}drawing{decl} {pfx}:id="{rid}"/>')
        canvas = DrawingXml(self._text(drawing), drawing)
        col_px, row_px = cell_sizes(doc, ed)
        for e, png in ed.drawn:
            if isinstance(e, AddPicture):
                assert png is not None  # a picture's bytes were checked when it was gathered
                canvas.add_picture(e, self._add_rel(drawing, "image", self._media(png)))
                continue
            chart = self._fresh("xl/charts/chart", ".xml")
            self._put(chart, chart_xml(e, sheet.name, ed.value))
            self._override(chart, _CT_CHART)
            canvas.add_chart(e, self._add_rel(drawing, "chart", chart), col_px, row_px)
        self._put(drawing, canvas.text())

    def _media(self, png: bytes) -> str:
        """The media part holding these PNG bytes: a new ``xl/media/imageN.png`` whose number no
        existing picture uses (whatever its extension), or the one made earlier for the same bytes."""
        part = self._media_parts.get(png)
        if part is not None and self._exists(part):
            return part
        used = {int(m.group(1)) for name in [*self._names, *(n.lower() for n in self._parts)]
                if (m := _MEDIA_NAME.match(name))}
        n = 1
        while n in used:
            n += 1
        part = self._media_parts[png] = f"xl/media/image{n}.png"
        self._put(part, png)
        self._default_type("png", _CT_PNG)
        return part

    def _default_type(self, ext: str, ctype: str) -> None:
        """A ``<Default>`` content type for an extension, unless the package has one (kept as it is)."""
        if re.search(rf"""<(?:[\w.-]+:)?Default\b[^>]*\bExtension\s*=\s*["']{re.escape(ext)}["']""",
                     self._types, re.I):
            return
        p, root = prefix_of(self._types, "Types")
        defaults = list(re.finditer(r"<(?:[\w.-]+:)?Default\b[^>]*>", self._types))
        last = defaults[-1] if defaults else None
        at = last.end() if last is not None else root.end()
        self._types = self._types[:at] + f'<{p}Default Extension="{ext}" ContentType="{ctype}"/>' + \
            self._types[at:]
        self._put("[Content_Types].xml", self._types)

    # ---- dropping what nothing refers to any more ----

    def _reachable(self, read: Callable[[str], list[tuple[str, str, str]]]) -> set[str]:
        seen: set[str] = set()
        todo = [""]
        while todo:
            part = todo.pop()
            for _, _, target in read(part):
                key = target.lower()
                if key not in seen:
                    seen.add(key)
                    todo.append(target)
        return seen

    def _collect_garbage(self) -> None:
        """Parts the source's relationships reached and the copy's don't (the old content of a
        replaced sheet, the macros of a workbook saved as .xlsx) are left out, with their content types
        and relationships. Parts nothing referred to in the source stay, as they were."""

        def original(part: str) -> list[tuple[str, str, str]]:
            real = self._names.get((_rels_path(part) if part else "_rels/.rels").lower())
            try:
                return _parse_rels(self._zip.read(real), part) if real else []
            except ET.ParseError:
                return []

        before = self._reachable(original)
        after = self._reachable(self._rels)
        for key in sorted(before - after):
            real = self._names.get(key)
            if real is None or real in self._removed:
                continue
            self._remove(real)
            rels = _rels_path(real)
            if rels.lower() in self._names:
                self._remove(rels)
