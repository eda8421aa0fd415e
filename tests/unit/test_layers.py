"""Data flows one way: catalog -> hardware/workload -> perf -> search -> estimate -> fleet/calibration ->
report/api -> cli. Every import in src/ (lazy ones inside functions and type-only ones included) must point to a
lower layer or stay in its own package; a back-edge or an import across one layer's siblings fails here."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "computeplan"

LAYERS = {
    "errors": 0,
    "units": 0.5,
    "checks": 0.5,
    "files": 0.5,
    "economics": 0.7,  # conventions built on units
    "catalog": 1,
    "hardware": 2,
    "workload": 2,
    "perf": 3,
    "search": 4,
    "estimate": 5,
    "calibration": 6,
    "profiling": 6,  # device microbenchmarks -> a profile the estimates use (PyTorch, optional)
    "fleet": 6,
    "report": 7,
    "api": 7,
    "cli": 8,
    "__init__": 9,
    "__main__": 9,
}


def _package(module: str) -> str:
    """'computeplan.perf.training' -> 'perf'; 'computeplan' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported computeplan module) for every import statement in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("computeplan")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("computeplan"):
            if node.module == "computeplan":  # 'from computeplan import api' names a submodule
                found += [(node.lineno, f"computeplan.{a.name}") for a in node.names if a.name != "__version__"]
            else:
                found.append((node.lineno, node.module))
    return found


def _edges() -> list[tuple[str, int, str, str]]:
    edges = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        for line, target in _imports(path):
            edges.append((module, line, target, str(path.relative_to(SRC.parent))))
    return edges


def test_every_package_has_a_layer():
    packages = {p.stem if p.is_file() else p.name for p in SRC.iterdir() if p.suffix == ".py" or p.is_dir()}
    packages.discard("__pycache__")
    assert packages <= set(LAYERS), f"give these a layer: {sorted(packages - set(LAYERS))}"


def test_imports_only_point_down():
    problems = []
    for module, line, target, where in _edges():
        source, dest = _package(module), _package(target)
        if source == dest:
            continue
        if LAYERS[dest] >= LAYERS[source]:
            problems.append(
                f"{where}:{line}: {source} (layer {LAYERS[source]}) imports {target} (layer {LAYERS[dest]})"
            )
    assert not problems, "back-edges or sideways imports:\n" + "\n".join(problems)


def test_the_checker_sees_a_back_edge(tmp_path):
    fake = tmp_path / "x.py"
    fake.write_text("def f():\n    from computeplan import api\n    from computeplan.cli.app import app\n")
    assert [t for _, t in _imports(fake)] == ["computeplan.api", "computeplan.cli.app"]
    assert LAYERS[_package("computeplan.api")] > LAYERS[_package("computeplan.fleet.inputs")]


@pytest.mark.parametrize("pure", ["perf", "search", "fleet", "estimate"])
def test_pure_layers_do_no_file_or_console_io(pure):
    """perf, search, estimate and fleet neither print nor open files nor read the environment."""
    offenders = []
    for path in sorted((SRC / pure).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for needle in ("print(", "open(", "os.environ", "read_text(", "write_text("):
            if needle in text:
                offenders.append(f"{path.name}: {needle}")
    allowed = {"fleet": {"scenario.py: "}}  # the scenario loader reads the user's file through computeplan.files
    offenders = [o for o in offenders if not any(o.startswith(a) for a in allowed.get(pure, ()))]
    assert not offenders


def test_api_facade_stays_thin():
    assert len((SRC / "api.py").read_text(encoding="utf-8").splitlines()) <= 250
