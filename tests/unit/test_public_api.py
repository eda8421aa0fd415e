"""The curated public API: what `import computeplan` offers, and that each name resolves."""

import computeplan

EXPECTED = {
    "__version__",
    "Catalog",
    "CatalogError",
    "ComputeplanError",
    "Dimension",
    "Infeasible",
    "InvalidLayout",
    "ScenarioError",
    "TransformerSpec",
    "UnitError",
    "UnknownEntryError",
    "format_quantity",
    "get_chip",
    "get_model",
    "get_system",
    "load_catalog",
    "parse_quantity",
    "train",
    "serve",
    "plan",
    "validate",
    "calibrate",
    "goodput",
    "TrainingResult",
    "ServingResult",
    "PlanResult",
    "Comparison",
    "compare_plans",
    "monte_carlo",
    "SweepResult",
    "ValidationReport",
    "GoodputEstimate",
    "TrainingJob",
    "ServingJob",
    "EfficiencyTables",
    "EfficiencyTable",
    "Scenario",
    "load_scenario",
    "InvalidInput",
    "profile_device",
    "measure_device",
    "load_profile",
    "DeviceProfile",
}


def test_all_is_the_curated_list():
    assert set(computeplan.__all__) == EXPECTED


def test_every_public_name_resolves():
    for name in computeplan.__all__:
        assert getattr(computeplan, name) is not None


def test_shortcuts_use_the_default_catalog():
    assert computeplan.get_chip("h100-sxm").id == "h100-sxm"
    assert computeplan.get_system("hgx-h100").chip == "h100-sxm"
    assert computeplan.get_model("llama3-8b").layers == 32
