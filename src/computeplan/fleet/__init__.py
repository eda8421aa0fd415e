"""Multi-year fleet planning as a linear program (HiGHS). Built by the fleet-planner issue."""
