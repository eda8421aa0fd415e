"""Cost-plus check of rented options: the rent, turned into dollars per watt of IT power per year, next to what an
owner pays all-in for the same watt-year (chips, facility and energy; catalog fact ``ai-datacenter-tco-per-watt-year``)
times the markup a cloud's gross margin implies (fact ``ai-cloud-gross-margin``: markup = 1 / (1 - margin)).

The plausible band is the owner's central cost times the markups of the margin's low and high ends (14-40%: 1.16x to
1.67x). A rent outside it is flagged: below, a discount no cloud sustains at its reported margins; above, a premium
a buyer at scale could avoid by building (or the chip's all-in cost per watt differs from the GB200 data centre the
owner's figure is for; the owner's own range is given beside it). Watts are the chip's board power
plus its host share (the IT power the owner's figure is per), before PUE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from computeplan.catalog.loader import Catalog
from computeplan.fleet.inputs import FleetInputs

OWNER_COST_FACT = "ai-datacenter-tco-per-watt-year"
MARGIN_FACT = "ai-cloud-gross-margin"


def cost_plus(inputs: FleetInputs, catalog: Catalog, periods_per_year: int) -> pd.DataFrame:
    """Per rented option (index ``option``): rent_usd_per_w_year, owner_usd_per_w_year (central), markup (rent /
    owner's cost), band_low/band_high (the plausible rent range) and verdict ("within", "below cost plus margin" or
    "above cost plus margin"). Empty when the catalog lacks the two facts."""
    columns = [
        "rent_usd_per_w_year",
        "owner_usd_per_w_year",
        "markup",
        "band_low_usd_per_w_year",
        "band_high_usd_per_w_year",
        "verdict",
    ]
    if OWNER_COST_FACT not in catalog.facts or MARGIN_FACT not in catalog.facts:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="option"))
    owner = catalog.fact(OWNER_COST_FACT)
    margin = catalog.fact(MARGIN_FACT)
    low = owner.value / (1.0 - (margin.low if margin.low is not None else margin.value))
    high = owner.value / (1.0 - (margin.high if margin.high is not None else margin.value))
    rented = np.nonzero(inputs.rent_usd_per_chip_period > 0)[0]
    rent = inputs.rent_usd_per_chip_period[rented] * periods_per_year / inputs.watts_per_chip[rented]
    verdict = np.where(rent < low, "below cost plus margin", np.where(rent > high, "above cost plus margin", "within"))
    return pd.DataFrame(
        {
            "rent_usd_per_w_year": rent,
            "owner_usd_per_w_year": owner.value,
            "markup": rent / owner.value,
            "band_low_usd_per_w_year": low,
            "band_high_usd_per_w_year": high,
            "verdict": verdict,
        },
        index=pd.Index([inputs.labels[k] for k in rented], name="option"),
    )
