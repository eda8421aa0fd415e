"""Fuzz user catalog files: a built-in chip, system, model or fact entry with one leaf changed, written to a user
catalog directory. ``load_catalog([dir])`` must raise CatalogError (one line) or load; what loads must price a
training job, a serving replica and a goodput estimate with finite numbers (or refuse with a ComputeplanError),
and the CLI must render it (JSON and tables) without a traceback."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import yaml
from hypothesis import event, given
from hypothesis import strategies as st

import computeplan
from computeplan.catalog import load_catalog
from computeplan.catalog.loader import Catalog
from computeplan.errors import CatalogError, ComputeplanError
from computeplan.report.goodput_text import goodput_json
from tests.fuzz.harness import check_outcome, check_physics, invoke
from tests.fuzz.strategies import examples, leaf_paths, mutations_of

ENTRIES = {
    ("chips", "h100-sxm"),
    ("chips", "trn2"),
    ("systems", "hgx-h100"),
    ("models", "llama3-8b"),
    ("models", "mixtral-8x7b"),
    ("facts", "failures-llama3-network"),
    ("facts", "failures-llama3-window"),
    ("facts", "restart-time"),
    ("facts", "storage-write-bandwidth-per-chip"),
    ("facts", "pue-hyperscale"),
}


def _builtin(kind: str, entry_id: str) -> dict[str, Any]:
    text = (resources.files("computeplan.catalog") / "data" / f"{kind}.yaml").read_text(encoding="utf-8")
    entry = next(e for e in yaml.safe_load(text)[kind] if e["id"] == entry_id)
    return {k: v for k, v in entry.items() if k != "date"} | {"date": str(entry.get("date", "2026"))}


BUILTIN = {key: _builtin(*key) for key in sorted(ENTRIES)}


@st.composite
def mutated_entry(draw: Any) -> tuple[str, str, tuple[Any, ...], str, dict[str, Any]]:
    kind, entry_id = draw(st.sampled_from(sorted(BUILTIN)))
    entry = BUILTIN[(kind, entry_id)]
    paths = [p for p in leaf_paths(entry) if p[0] not in ("id", "source", "note", "name")]
    where, how, changed = draw(mutations_of(entry, paths))
    return kind, entry_id, where, how, changed


def _price(cat: Catalog, kind: str, entry_id: str) -> None:
    """What a user would do with the changed entry; each must refuse with a ComputeplanError or be finite."""
    model = entry_id if kind == "models" else "llama3-8b"
    chip = entry_id if kind == "chips" else "h100-sxm"
    calls = [
        lambda: computeplan.train(model, chip, 64, tokens=1e12, catalog=cat).to_dict(),
        lambda: computeplan.serve(model, chip, input_len=1024, output_len=128, traffic=1e9, catalog=cat).to_dict(),
        lambda: goodput_json(computeplan.goodput(model, 16384, days=30, catalog=cat)),
    ]
    for price in calls:
        try:
            data = price()
        except ComputeplanError:
            continue
        json.dumps(data, allow_nan=False, default=str)
        check_physics(data, nonnegative=True)


@examples(80)
@given(mutated_entry())
def test_a_changed_entry_is_refused_or_priced(tmp_path_factory, case):
    kind, entry_id, _where, _how, entry = case
    directory = tmp_path_factory.mktemp("catalog")
    (directory / "mine.yaml").write_text(yaml.safe_dump({kind: [entry]}, sort_keys=False, allow_unicode=True))
    try:
        cat = load_catalog([directory])
    except CatalogError as exc:
        event("refused")
        assert "\n" not in str(exc).strip(), f"one line: {exc}"
        assert "mine.yaml" in str(exc), f"names the file: {exc}"
        return
    event("loaded")
    _price(cat, kind, entry_id)


COMMANDS = {
    "chips": ["chips"],
    "systems": ["systems"],
    "models": ["models"],
    "facts": ["facts"],
}


@examples(30)
@given(mutated_entry(), st.booleans())
def test_the_cli_renders_a_changed_entry(tmp_path_factory, case, json_mode):
    kind, entry_id, _where, _how, entry = case
    directory = tmp_path_factory.mktemp("catalog")
    (directory / "mine.yaml").write_text(yaml.safe_dump({kind: [entry]}, sort_keys=False, allow_unicode=True))
    singular = kind.removesuffix("s")
    for args in (COMMANDS[kind], ["show", singular, entry_id]):
        full = [*args, "--catalog", str(directory), *(["--json"] if json_mode else [])]
        check_outcome(invoke(full), json_mode=json_mode, nonnegative=False)
    if kind == "facts":
        full = ["goodput", "--chips", "16384", "--days", "30", "--catalog", str(directory)]
        check_outcome(invoke([*full, "--json"] if json_mode else full), json_mode=json_mode)


def test_a_failure_window_of_seconds_is_refused_or_priced(tmp_path_factory):
    """Found by the fuzzer: a 7-second failure window makes interruptions so frequent that goodput overflowed."""
    entry = BUILTIN[("facts", "failures-llama3-window")] | {"value": 7}
    directory = tmp_path_factory.mktemp("catalog")
    (directory / "mine.yaml").write_text(yaml.safe_dump({"facts": [entry]}, sort_keys=False))
    try:
        cat = load_catalog([directory])
    except CatalogError:
        return
    _price(cat, "facts", "failures-llama3-window")
    outcome = invoke(["goodput", "--chips", "16384", "--days", "30", "--catalog", str(directory)])
    check_outcome(outcome)
