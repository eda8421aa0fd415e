"""Datacenter facts from the catalog that every estimate uses by default, read and checked in one place.

The PUE default: ``train``, ``serve`` and the fleet planner (a scenario without ``power.pue``) all call
:func:`default_pue`, so that one catalog gives one PUE everywhere.
"""

from __future__ import annotations

import math

from computeplan.catalog.loader import Catalog
from computeplan.economics import DEFAULT_PUE, MAX_PUE, MIN_PUE, PUE_FACT_ID
from computeplan.errors import CatalogError


def default_pue(catalog: Catalog) -> float:
    """The PUE used where the caller gives none: the catalog fact ``pue-hyperscale``, else
    :data:`computeplan.economics.DEFAULT_PUE` for a catalog without it.

    A fact outside [1, 3] is the catalog's error, not the caller's: a CatalogError names the file and the fact.
    """
    if PUE_FACT_ID not in catalog.facts:
        return DEFAULT_PUE
    value = float(catalog.fact(PUE_FACT_ID).value)
    if not (math.isfinite(value) and MIN_PUE <= value <= MAX_PUE):
        where = catalog.origin("facts", PUE_FACT_ID)
        raise CatalogError(
            f"{where}: facts[id={PUE_FACT_ID}].value: a PUE must be between {MIN_PUE:g} and {MAX_PUE:g}, got {value:g}"
        )
    return value


def pue_or_default(catalog: Catalog, pue: float | None) -> float:
    """``pue`` when the caller gives one (checked by the job that uses it), else :func:`default_pue`."""
    return default_pue(catalog) if pue is None else pue
