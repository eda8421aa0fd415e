"""How serving software batches requests when a publication does not say (``catalog/data/serving_frameworks.yaml``,
each fact with its source): continuously (a closed-loop client's requests are staggered) or in static batches."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from computeplan.catalog.frameworks import SourcedFact
from computeplan.catalog.loader import SERVING_FRAMEWORKS_FILE, data_file, validate_table
from computeplan.errors import CatalogError
from computeplan.files import load_yaml


class _Batching(SourcedFact):
    value: Literal["continuous", "static"]


class _Flag(SourcedFact):
    value: bool


class _ServingFramework(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    aliases: list[str]
    batching: _Batching
    quantized_kv_cache: _Flag | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    serving_frameworks: dict[str, _ServingFramework]


@dataclass(frozen=True)
class ServingFramework:
    """A serving framework's batching (``continuous`` or ``static``) and whether fp8/fp4 weights come with an fp8 KV
    cache by default (None: not documented); ``known`` is False for the generic default."""

    id: str
    name: str
    continuous: bool
    quantized_kv_cache: bool | None = None
    known: bool = True


GENERIC = ServingFramework(id="generic", name="generic serving engine", continuous=True, known=False)


def parse_serving_frameworks(raw: Any, *, where: str) -> tuple[tuple[str, ServingFramework], ...]:
    """(alias, framework) pairs in the table's order; :class:`CatalogError` names ``where`` and the field."""
    table = validate_table(_File, raw, where=where)
    pairs: list[tuple[str, ServingFramework]] = []
    for key, fw in table.serving_frameworks.items():
        entry = ServingFramework(
            id=key,
            name=fw.name,
            continuous=fw.batching.value == "continuous",
            quantized_kv_cache=None if fw.quantized_kv_cache is None else fw.quantized_kv_cache.value,
        )
        pairs.extend((alias.strip().lower(), entry) for alias in fw.aliases)
    return tuple(pairs)


@lru_cache(maxsize=1)
def builtin_serving_frameworks() -> tuple[tuple[str, ServingFramework], ...]:
    """The shipped table, read once."""
    path = data_file(SERVING_FRAMEWORKS_FILE)
    raw = load_yaml(path, what="serving frameworks file", error=CatalogError)
    return parse_serving_frameworks(raw, where=str(path))


def serving_framework(text: str | None) -> ServingFramework:
    """The framework a row's free-text ``framework`` names (the first entry with an alias in it), else GENERIC."""
    low = (text or "").lower()
    for alias, entry in builtin_serving_frameworks():
        if alias in low:
            return entry
    return GENERIC
