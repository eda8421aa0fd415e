"""Cost and energy conventions, hand-computed."""

import pytest

from computeplan import economics as eco


def test_calendar_is_one_julian_year():
    assert pytest.approx(8766.0) == eco.HOURS_PER_YEAR
    assert pytest.approx(365.25) == eco.DAYS_PER_YEAR


def test_training_power_and_energy_by_hand():
    # 700 W board busy 60% of the step: 700 (0.6 + 0.4 x 0.4) = 532 W; host 150 W; 1,000 chips; PUE 1.2; 1 h
    assert eco.training_chip_power_w(700.0, 0.6) == pytest.approx(532.0)
    energy = eco.facility_energy_j(3600.0, 532.0, 150.0, 1000, 1.2)
    assert energy == pytest.approx(3600 * (532 + 150) * 1000 * 1.2)
    assert eco.energy_cost_usd(energy, 0.08) == pytest.approx(energy / 3.6e6 * 0.08)


def test_chip_hours_and_rent():
    assert eco.chip_hours(7200.0, 16) == 32.0
    assert eco.rent_cost_usd(7200.0, 16, 2.5) == 80.0


def test_serving_power_fraction():
    assert eco.serving_chip_power_w(1000.0) == pytest.approx(700.0)
