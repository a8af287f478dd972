"""The package's layout stays true (see ARCHITECTURE.md): every module imports; no import cycles; no
module imports a stage later in the data flow than its own; another package is used through what its
``__init__`` names; and no underscore name is imported from another module.

Imports are read from the source (every ``import`` and ``from … import``, also those inside functions
and under ``TYPE_CHECKING``), so a lazy import can't hide an edge.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
import types
from pathlib import Path

import pytest

import sheetdl

PACKAGE = Path(sheetdl.__file__).resolve().parent

#: the stages, in the order data flows; a module may import its own stage and the ones before it
STAGES = [
    "errors", "version", "private", "folders", "cpus",  # what every stage may use
    "settings",  # the task spec, from the SheetDL sheet and flags
    "sheets",  # workbook files in and out, no ML
    "schema",  # what each column is; typed columns
    "images",  # picture files and their cache
    "models",  # the networks
    "encode",  # typed columns → tensors
    "training",  # planning and cross-fitting
    "engine",  # FittedModel, train_table, results, store, evaluate, explain
    "report",  # Results → SheetEdits
    "new",  # new workbooks: templates, a folder of pictures
    "run",  # the use case the CLI, the server and the API share
    "api",  # sheetdl.fit / sheetdl.load
    "desktop",  # desktop Excel through xlwings: live backend, ribbon add-in, background jobs
    "server",  # the add-in's local server
    "cli",  # the sheetdl command
    "__main__", "__init__",  # python -m sheetdl; the package's own surface
]
RANK = {name: i for i, name in enumerate(STAGES)}
RANK.update({"errors": 0, "version": 0, "private": 0, "folders": 0, "cpus": 0})

#: edges the rules would refuse, each with its reason
ALLOWED_SUBMODULE_IMPORTS = {
    # Lightning takes seconds to import; only training a fold needs it, so models/__init__ leaves it out
    ("sheetdl.training.fit", "sheetdl.models.module"),
}


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {"sheetdl": (PACKAGE / "__init__.py", True)}
    for info in pkgutil.walk_packages([str(PACKAGE)], "sheetdl."):
        path = Path(importlib.util.find_spec(info.name).origin)
        out[info.name] = (path, info.ispkg)
    return out


MODULES = _modules()


def _stage(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, name or None, line) for each sheetdl import in ``module``'s source. ``from
    X import y`` counts as importing module X.y when y is a submodule the package does not shadow."""
    path, is_pkg = MODULES[module]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "sheetdl"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)] + ([node.module] if node.module else [])
                target = ".".join(base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "sheetdl":
                continue
            for a in node.names:
                value = getattr(sys.modules.get(target), a.name, None)
                if isinstance(value, types.ModuleType) and f"{target}.{a.name}" in MODULES:
                    out.append((f"{target}.{a.name}", None, node.lineno))
                else:
                    out.append((target, a.name, node.lineno))
    return out


@pytest.fixture(scope="module")
def edges() -> dict[str, list[tuple[str, str | None, int]]]:
    for name in MODULES:
        if name != "sheetdl.__main__":
            importlib.import_module(name)
    return {name: _imports(name) for name in MODULES}


def test_every_module_has_a_stage():
    unknown = sorted({_stage(m) for m in MODULES} - set(RANK))
    assert not unknown, f"modules outside the stages of STAGES: {unknown}"


def test_no_module_imports_a_later_stage(edges):
    later = [f"{src}:{line} imports {dst} ({_stage(dst)} comes after {_stage(src)})"
             for src, found in edges.items() for dst, _, line in found
             if RANK[_stage(dst)] > RANK[_stage(src)]]
    assert not later, "\n".join(later)


def test_no_import_cycles(edges):
    graph = {m: sorted({dst for dst, _, _ in found if dst in MODULES and dst != m}) for m, found in edges.items()}
    # a package's __init__ imports its modules; a module importing its own package's __init__ is the cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_other_packages_are_used_through_their_init(edges):
    """A module of one stage uses another stage's package by the names its __init__ exports."""
    reached = []
    for src, found in edges.items():
        for dst, _, line in found:
            if _stage(dst) == _stage(src) or dst.count(".") < 2 or (src, dst) in ALLOWED_SUBMODULE_IMPORTS:
                continue
            reached.append(f"{src}:{line} imports {dst}")
    assert not reached, "\n".join(reached)


def test_no_underscore_name_crosses_a_module(edges):
    private = [f"{src}:{line} imports {name} from {dst}" for src, found in edges.items()
               for dst, name, line in found if name and name.startswith("_") and not name.startswith("__")]
    assert not private, "\n".join(private)


def test_each_package_names_its_surface():
    missing = [m for m, (_, is_pkg) in MODULES.items() if is_pkg and not hasattr(sys.modules[m], "__all__")
               and m.count(".") == 1 and not m.endswith("._xlsx")]
    assert not missing, f"packages without __all__: {missing}"
