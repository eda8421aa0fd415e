"""The fuzz suite: hostile inputs for the CLI, the Python API, scenario files, catalog files and measured-run CSVs.

Settings live in :mod:`tests.fuzz.strategies` (deterministic; no global hypothesis profile is loaded, so the
property tests elsewhere keep their own settings). The autouse fixture of tests/conftest.py keeps
$COMPUTEPLAN_CATALOG out; this one keeps $COLUMNS out, so tables render at the piped width, and runs each test
in a fresh temporary directory, so that a relative path a fuzzer makes up can never write into the checkout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.chdir(tmp_path)
    yield
