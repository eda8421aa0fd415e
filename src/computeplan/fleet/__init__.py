"""Multi-year fleet planning as a linear program (HiGHS through scipy), built like PyPSA's capacity expansion:
small ``define_*`` functions add one group of variables or constraints each; results come back as labelled
tables with the binding constraints and their shadow prices."""

from computeplan.fleet.scenario import Scenario, load_scenario

__all__ = ["Scenario", "load_scenario"]
