"""docs/catalog.md is generated from the schema; it must match what the code generates now."""

from computeplan.catalog.docs import render_catalog_schema
from tests.conftest import REPO_ROOT


def test_catalog_docs_are_current():
    assert (REPO_ROOT / "docs" / "catalog.md").read_text() == render_catalog_schema(), "run `make docs`"
