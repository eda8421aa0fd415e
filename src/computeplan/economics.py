"""Cost and energy conventions, in one place: calendar, PUE default, chip power fractions, energy and chip-time.

Every model that turns seconds into chip-hours, watts into joules or joules into dollars uses these, so that
training, serving and the fleet planner agree. SI inside: seconds, watts, joules, USD.

Equations:
- chip-hours = t * n / SECONDS_PER_HOUR
- facility energy E = t * n * (P_chip * f + P_host) * PUE, with f the average fraction of board power drawn
- energy cost = E / 3.6e6 J/kWh * price per kWh
"""

from __future__ import annotations

from computeplan.units import JOULES_PER_KWH, SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_YEAR

WATT_HOURS_PER_KWH = 1000.0

# One calendar for everyone: a Julian year of 365.25 days (8,766 h), as units.SECONDS_PER_YEAR.
DAYS_PER_YEAR = SECONDS_PER_YEAR / SECONDS_PER_DAY
HOURS_PER_YEAR = SECONDS_PER_YEAR / SECONDS_PER_HOUR

# Catalog fact used for PUE when the caller gives none, and its value where no catalog is at hand
# (catalog fact 'pue-hyperscale': 1.15, range 1.1-1.3; Uptime Institute 2024 via cloudnews.tech).
PUE_FACT_ID = "pue-hyperscale"
DEFAULT_PUE = 1.15
# A PUE is facility power over IT power: at least 1 by definition; 3 is beyond any data centre surveyed
# (Uptime Institute 2024: industry average 1.56, worst decile about 2.2).
MIN_PUE = 1.0
MAX_PUE = 3.0

# Board power while a chip is not in compute kernels (communication, pipeline bubbles), as a fraction of its
# rated power. Estimate: H100 boards draw ~100 W idle and 40-60% of TDP in communication-bound phases.
NON_COMPUTE_POWER_FRACTION = 0.4

# Board power while serving, as a fraction of rated power: decode is memory-bound and leaves compute idle.
# Estimate (MLPerf Inference power submissions show 60-80% of TDP at saturation).
SERVING_POWER_FRACTION = 0.7


def chip_hours(seconds: float, num_chips: float) -> float:
    """Chip-hours of ``num_chips`` busy for ``seconds``."""
    return seconds * num_chips / SECONDS_PER_HOUR


def training_chip_power_w(rated_power_w: float, compute_busy: float) -> float:
    """Average board power over a training step: full power while computing, a fraction otherwise [W]."""
    return rated_power_w * (compute_busy + (1.0 - compute_busy) * NON_COMPUTE_POWER_FRACTION)


def serving_chip_power_w(rated_power_w: float) -> float:
    """Average board power of a serving chip at its operating point [W]."""
    return rated_power_w * SERVING_POWER_FRACTION


def facility_power_w(chip_power_w: float, host_power_w_per_chip: float, num_chips: float, pue: float) -> float:
    """Facility power of ``num_chips``: (chip + host share) x chips x PUE [W]."""
    return (chip_power_w + host_power_w_per_chip) * num_chips * pue


def facility_energy_j(
    seconds: float, chip_power_w: float, host_power_w_per_chip: float, num_chips: float, pue: float
) -> float:
    """Facility energy of ``num_chips`` drawing ``chip_power_w`` each for ``seconds`` [J]."""
    return seconds * facility_power_w(chip_power_w, host_power_w_per_chip, num_chips, pue)


def energy_cost_usd(energy_j: float, usd_per_kwh: float) -> float:
    """Cost of ``energy_j`` joules at ``usd_per_kwh``."""
    return energy_j / JOULES_PER_KWH * usd_per_kwh


def energy_usd_per_watt(hours: float, usd_per_kwh: float, pue: float) -> float:
    """Cost of drawing one watt of chip power for ``hours``, at the facility (x PUE) [USD per W]."""
    return hours * pue * usd_per_kwh / WATT_HOURS_PER_KWH


def rent_cost_usd(seconds: float, num_chips: float, usd_per_chip_hour: float) -> float:
    """Cost of renting ``num_chips`` for ``seconds`` at ``usd_per_chip_hour``."""
    return chip_hours(seconds, num_chips) * usd_per_chip_hour
