"""Shared fixtures: a clean environment (no user catalog) and helpers to write user catalog files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from computeplan.catalog import load_catalog
from computeplan.catalog.loader import ENV_VAR, _load_cached

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture(autouse=True)
def _no_user_catalog(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(ENV_VAR, raising=False)
    _load_cached.cache_clear()
    yield
    _load_cached.cache_clear()


@pytest.fixture
def builtin():
    return load_catalog(use_env=False)


@pytest.fixture
def write_catalog(tmp_path: Path) -> Callable[..., Path]:
    """Write ``{kind: [entries]}`` (or raw text) as ``name`` in a fresh user catalog directory; return the dir."""

    def write(content: dict | str, name: str = "mine.yaml") -> Path:
        directory = tmp_path / "catalog"
        directory.mkdir(exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        (directory / name).write_text(text)
        return directory

    return write
