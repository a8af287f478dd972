"""The lowest version pyproject.toml allows of each direct dependency, as pip constraints
(``name==floor``), for `make test-lowest`; with ``--check``, whether the running Python has exactly those
installed. Read from pyproject.toml each time, so the check follows the floors as they change.

    python tools/floors.py > floors.txt        # the constraints
    .venv-lowest/bin/python tools/floors.py --check
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    sys.exit("tools/floors.py needs Python 3.11 or later (tomllib); run it with python3.11.")

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
#: "name>=floor" (or "name==version": a pinned dependency is its own floor)
FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:>=|==)\s*([0-9][0-9A-Za-z.]*)\s*(?:,|;|$)")


def floors() -> dict[str, str]:
    """Each direct dependency's name and floor; one without a floor (``>=``, or a ``==`` pin) is an
    error: there is nothing to check it at."""
    deps = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    out: dict[str, str] = {}
    for dep in deps:
        m = FLOOR.match(dep)
        if not m:
            sys.exit(f"tools/floors.py: the dependency '{dep}' in pyproject.toml has no floor (>=); give it one.")
        out[m.group(1)] = m.group(2)
    return out


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def check() -> int:
    """0 when every direct dependency is installed at its floor (as pip compares versions: 2.3 is 2.3.0)."""
    from importlib.metadata import PackageNotFoundError, version

    def padded(v: str) -> list[int]:
        nums = [int(x) for x in re.findall(r"\d+", v.split("+")[0])[:3]]
        return nums + [0] * (3 - len(nums))

    wrong = []
    for name, floor in floors().items():
        try:
            have = version(name)
        except PackageNotFoundError:
            wrong.append(f"{name}: not installed (wanted {floor})")
            continue
        if padded(have) != padded(floor):
            wrong.append(f"{name}: {have} installed, the floor is {floor}")
        else:
            print(f"  {name} {have}")
    for line in wrong:
        print(f"tools/floors.py: {line}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        sys.exit(check())
    for name, floor in floors().items():
        print(f"{_normal(name)}=={floor}")
