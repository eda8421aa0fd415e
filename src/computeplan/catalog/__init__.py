"""The catalog: sourced facts about chips, systems and models, validated on load.

``load_catalog()`` returns a :class:`Catalog`; ``get_chip``/``get_system``/``get_model`` are shortcuts on the
built-in catalog. The library never reads the environment; the CLI adds ``$COMPUTEPLAN_CATALOG``.
"""

from computeplan.catalog.loader import Catalog, load_catalog
from computeplan.catalog.schema import ChipEntry, Confidence, ModelEntry, Sourced, SystemEntry


def get_chip(chip_id: str) -> ChipEntry:
    return load_catalog().chip(chip_id)


def get_system(system_id: str) -> SystemEntry:
    return load_catalog().system(system_id)


def get_model(model_id: str) -> ModelEntry:
    return load_catalog().model(model_id)


__all__ = [
    "Catalog",
    "ChipEntry",
    "Confidence",
    "ModelEntry",
    "Sourced",
    "SystemEntry",
    "get_chip",
    "get_model",
    "get_system",
    "load_catalog",
]
