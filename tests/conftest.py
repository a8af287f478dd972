import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_workbooks" / "Penguins.xlsx"


@pytest.fixture(scope="session")
def penguins_df():
    from palmerpenguins import load_penguins

    return load_penguins()


@pytest.fixture()
def penguins_copy(tmp_path):
    dst = tmp_path / "Penguins.xlsx"
    shutil.copyfile(SAMPLE, dst)
    return dst
