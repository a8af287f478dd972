"""The add-in server's tests share one running server per test file."""

import pytest

from sheetdl.server.config import ServerConfig
from sheetdl.server.testing import free_port, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cfg = ServerConfig(home=tmp_path_factory.mktemp("sheetdl-home"), port=free_port())
    with running_server(cfg) as srv:
        yield cfg, srv
