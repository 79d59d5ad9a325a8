"""The reference client's unit tests speak HTTP to a stand-in for the deployed API (tests/support/http.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http import Api, serve_api


@pytest.fixture
def api() -> Iterator[Api]:
    yield from serve_api()
