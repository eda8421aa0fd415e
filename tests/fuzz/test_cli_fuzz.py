"""Fuzz the command line: bad and edge values for every flag of train, serve, goodput, show, the catalog lists and
plan, run in-process. Every run must exit 0 (with finite, physical numbers) or 2 (one ``error: ...`` line)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.harness import check_outcome, invoke
from tests.fuzz.strategies import (
    ARCH_SETS,
    FLOAT_EDGES,
    LAYOUTS,
    ODD_TEXT,
    TEXT,
    Values,
    choices,
    command_line,
    examples,
    floats,
    hostile,
    ids,
    ints,
    leaf_paths,
    quantities,
)

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "cloud-commitment-100b-5gw.yaml"
HERE = str(Path(__file__).parent)  # a directory without YAML files: a valid, empty user catalog

MODELS = ["llama3-8b", "llama2-7b", "mixtral-8x7b"]  # small enough that a search on <= 512 chips is fast
MISSPELT_MODELS = ["llama3-8B", "llama3_8b", "llama-3-8b", "llama3-8b ", "nope.yaml", "models.yaml"]
CHIPS = ["h100-sxm", "trn2", "tpu-v5e", "b200", "mi300x", "a100-sxm-40gb", "gaudi3", "trn4"]
MISSPELT_CHIPS = ["h10", "H100-SXM", "h100", "trn-2", "trn2 ", "chip.yml"]
CHIP_COUNTS = [64, 8, 512, 16, 96, 2, 1]
CATALOG_DIRS = choices([HERE], ["/nonexistent-dir", "/dev/null", str(SCENARIO), ""])


def _fuzz(args: list[str], json_mode: bool) -> None:
    outcome = invoke(args)
    event(f"exit {outcome.code}")  # --hypothesis-show-statistics: how many examples got through to an answer
    check_outcome(outcome, json_mode=json_mode)


TRAIN = command_line(
    ["train"],
    required={
        "--model": ids(MODELS, MISSPELT_MODELS),
        "--chip": ids(CHIPS, MISSPELT_CHIPS),
        "--chips": ints(CHIP_COUNTS),
    },
    optional={
        "--seq": ints([1, 128, 2048, 8192, 32768]),
        "--global-batch": ints([1, 8, 64, 512]),
        "--global-batch-tokens": quantities(["1M", "4M", "16M", "1000"]),
        "--tokens": quantities(["1T", "15.6T", "1e9", "1"]),
        "--layout": LAYOUTS,
        "--top": ints([1, 3, 1000]),
        "--system": ids(["hgx-h100", "trn2-ultraserver", "tpu-v5e-pod"], ["hgx", "HGX-H100"]),
        "--no-fp8": None,
        "--set": ARCH_SETS,
        "--pue": floats(["1", "1.15", "3", "3.01", "0.99"]),
        "--no-failures": None,
        "--catalog": CATALOG_DIRS,
    },
)


@examples(80)
@given(TRAIN)
def test_train_flags(case):
    _fuzz(*case)


SERVE = command_line(
    ["serve"],
    required={"--model": ids(MODELS, MISSPELT_MODELS)},
    optional={
        "--chip": ids(CHIPS, MISSPELT_CHIPS),
        "--compare": Values(
            st.lists(st.sampled_from(CHIPS), min_size=1, max_size=4).map(",".join),
            st.one_of(
                st.lists(st.sampled_from(CHIPS + MISSPELT_CHIPS), min_size=1, max_size=4).map(",".join),
                st.sampled_from([",", ",,,", " , ", "h100-sxm,", ""]),
                TEXT,
            ),
        ),
        "--input": ints([0, 1, 2048, 2**20]),
        "--output": ints([1, 256, 4096]),
        "--tpot-ms": floats(["10", "50", "1e-3", "3600000"]),
        "--ttft-s": floats(["0.5", "2", "86400"]),
        "--traffic": choices(
            ["1e9tok/day", "2B tok/day", "20000tok/s", "50req/s", "1000req/day", "1e9", "1e18tok/day"],
            ["0tok/s", "-5req/s", "1e19tok/day", "1e400tok/day", "inf tok/s", "nan", "5 GB/s", "tok/s", "5req/h"],
        ),
        "--weights": Values(
            st.lists(st.sampled_from(["bf16", "fp8", "int8", "fp4", "int4"]), min_size=1, max_size=3).map(",".join),
            st.lists(st.sampled_from(["bf16", "fp3", "BF16", "", " "]), max_size=3).map(",".join) | TEXT,
        ),
        "--prefix-hit-rate": floats(["0", "0.5", "0.99", "1"]),
        "--speculative-tokens": ints([0, 1, 4, 16, 17]),
        "--acceptance-rate": floats(["0", "0.7", "0.999", "1"]),
        "--pue": floats(["1.15", "3"]),
        "--utilization": floats(["1", "0.5", "0.001", "1e-9"]),
        "--catalog": CATALOG_DIRS,
    },
    max_optional=5,
)


@examples(80)
@given(SERVE)
def test_serve_flags(case):
    _fuzz(*case)


# Output paths are never arbitrary text: a fuzzer must not litter files (the tests also run in a temporary cwd).
GOODPUT_PLOTS = Values(
    st.just("{tmp}/g.png"), st.sampled_from(["", "/", ".", "/nonexistent-dir/g.png", "{tmp}", "/dev/null"])
)
GOODPUT = command_line(
    ["goodput"],
    required={"--chips": ints([1, 8, 16384, 2**20, 2**24, 2**24 + 1])},
    optional={
        "--model": ids([*MODELS, "llama3-405b", "deepseek-v3"], MISSPELT_MODELS),
        "--chip": ids(CHIPS, MISSPELT_CHIPS),
        "--days": floats(["1", "54", "365", "36525", "36526", "1e-9"]),
        "--async-checkpoint": None,
        "--no-hot-spares": None,
        "--storage-gb-per-s": floats(["1", "0.5", "1e-6", "1e-7", "1e4", "1e5"]),
        "--plot": GOODPUT_PLOTS,
        "--catalog": CATALOG_DIRS,
    },
)


@examples(50)
@given(GOODPUT)
def test_goodput_flags(tmp_path_factory, case):
    args, json_mode = case
    tmp = tmp_path_factory.mktemp("plot")
    _fuzz([a.replace("{tmp}", str(tmp)) for a in args], json_mode)


ENTRIES = [
    ("chip", "h100-sxm"),
    ("chip", "trn4"),
    ("system", "trn2-ultraserver"),
    ("model", "deepseek-v3"),
    ("model", "llama3-8b"),
    ("fact", "pue-hyperscale"),
    ("fact", "restart-time"),
    ("chips", "trn2"),
]
SHOW = command_line(
    ["show"],
    required={},
    optional={"--catalog": CATALOG_DIRS},
    max_optional=1,
)


@examples(40)
@given(
    st.sampled_from(ENTRIES),
    st.none() | hostile(["Chip", "chp", "entry", "models", "facts", "system "]),
    st.none() | hostile(MISSPELT_CHIPS + MISSPELT_MODELS),
    SHOW,
)
def test_show(entry, bad_kind, bad_id, case):
    args, json_mode = case
    kind, entry_id = entry
    _fuzz([args[0], bad_kind or kind, bad_id or entry_id, *args[1:]], json_mode)


@examples(10)
@given(
    st.sampled_from(["chips", "systems", "models", "facts"]),
    st.booleans(),
    st.none() | CATALOG_DIRS.good | CATALOG_DIRS.bad,
)
def test_catalog_lists(command, json_mode, catalog):
    args = [command] + (["--catalog", catalog] if catalog is not None else [])
    _fuzz([*args, "--json"] if json_mode else args, json_mode)


def _scenario_paths() -> list[str]:
    data = yaml.safe_load(SCENARIO.read_text())
    return [".".join(map(str, p)) for p in leaf_paths(data) if "about" not in p]


SCENARIO_VALUES = [
    "0",
    "-1",
    "1e400",
    "1e30",
    ".inf",
    ".nan",
    "null",
    "[]",
    "{}",
    "[1, 2]",
    "banana",
    "16 GB",
    "true",
    "1" + "0" * 400,
    "2.5",
    "40",
    "4",
]
PLAN_SETS = Values(
    st.sampled_from(["money.discount_rate=0.1", "years=5", "chips.0.committed_discount=0.5", "availability=0.9"]),
    st.one_of(
        st.tuples(st.sampled_from(_scenario_paths()), st.sampled_from(SCENARIO_VALUES)).map(
            lambda kv: f"{kv[0]}={kv[1]}"
        ),
        st.sampled_from(["=", "years", "nope=1", "chips.9.chip=trn2", "chips.x=1", "money..x=1", "a.b.c.d=1"]),
    ),
)
PLAN = command_line(
    ["plan"],
    required={},
    optional={
        "--set": PLAN_SETS,
        "--report": Values(
            st.just("{tmp}/r.html"), st.sampled_from(["", "/", "/nonexistent-dir/r.html", str(SCENARIO), "{tmp}"])
        ),
        "--catalog": CATALOG_DIRS,
    },
    max_optional=2,
)


@examples(15)
@given(st.sampled_from([str(SCENARIO)] * 4 + ["/nonexistent.yaml", HERE, "", "/dev/null"]), PLAN)
def test_plan_flags(tmp_path_factory, scenario, case):
    args, json_mode = case
    tmp = tmp_path_factory.mktemp("report")
    _fuzz([args[0], scenario, *(a.replace("{tmp}", str(tmp)) for a in args[1:])], json_mode)


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--tokens", ""],
        ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--global-batch-tokens", ""],
        ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--global-batch-tokens", "0"],
        ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--tokens", "16 GB"],
        ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--top", "1001"],
        ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--layout", "tp=1.5"],
        ["serve", "--model", "llama3-8b", "--compare", ",,,"],
        ["serve", "--model", "llama3-8b", "--weights", ","],
        ["serve", "--model", "llama3-8b", "--utilization", "1e-9"],
        ["goodput", "--chips", "8", "--days", "0"],
        ["goodput", "--chips", "8", "--days", "nan"],
    ],
    ids=lambda a: " ".join(a[-2:]),
)
def test_invalid_values_are_refused_not_defaulted(args):
    """Each of these was once accepted and silently replaced by a default (or an empty answer)."""
    outcome = invoke(args)
    check_outcome(outcome)
    assert outcome.code == 2, f"accepted: computeplan {' '.join(args)}\n{outcome.out[:300]}"


def _is_int(text: str) -> bool:
    try:
        int(text)  # Python (so typer) reads ' 8 ', '\t8' and the Arabic-Indic '٣' as whole numbers
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("value", [v for v in (*ODD_TEXT, *FLOAT_EDGES) if not _is_int(v)])
def test_every_bad_chip_count_is_one_line(value):
    outcome = invoke(["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", value])
    check_outcome(outcome)
    assert outcome.code == 2


# Findings of the hostile-user review (issue 14): each must be a clean refusal, one line, nothing raw or huge echoed.
LONG = "x" * 5000
REVIEW_REFUSALS = [
    [
        "train",
        "--model",
        "llama3-8b",
        "--chip",
        "h100-sxm",
        "--chips",
        "8",
        "--seq",
        "1",
        "--global-batch-tokens",
        "1e9",
    ],
    [
        "train",
        "--model",
        "llama3-8b",
        "--chip",
        "h100-sxm",
        "--chips",
        "8",
        "--global-batch",
        "1",
        "--global-batch-tokens",
        "4M",
    ],
    ["train", "--model", LONG, "--chip", "h100-sxm", "--chips", "8"],
    ["train", "--model", "llama3-8b", "--chip", "h100\x1b[31m", "--chips", "8"],
    ["train", "--model", "llama3-8b", "--chip", "h100-sxm", "--chips", "8", "--layout", "tp=" + "1" * 300],
    ["serve", "--model", "llama3-8b", "--traffic", "-5req/s"],
    ["serve", "--model", "llama3-8b", "--traffic", LONG],
    ["serve", "--model", "llama3-8b", "--chip", "h100-sxm", "--compare", "trn2"],
    ["serve", "--model", "llama3-8b", "--compare", "h100-sxm,h100-sxm"],
    ["serve", "--model", "llama3-8b", "--weights", "bf16,bf16"],
    ["chips", "--catalog", ""],
    ["plan", str(SCENARIO), "--catalog", ""],
    ["goodput", "--chips", "8", "--plot", "x.txt"],
    ["goodput", "--chips", "8", "--plot", str(SCENARIO)],
    ["goodput", "--chips", "8", "--plot", "g"],
    ["show", "chip", "\u202eh100\x07\x1b]0;title\x07"],
    ["chips", "--" + LONG],
]


@pytest.mark.parametrize("args", REVIEW_REFUSALS, ids=lambda a: " ".join(x[:20] for x in a[-2:]))
def test_review_findings_are_clean_refusals(args):
    outcome = invoke(args)
    check_outcome(outcome)
    assert outcome.code == 2, f"accepted: computeplan {' '.join(args)[:200]}\n{outcome.out[:300]}"
    assert len(outcome.err) < 500, outcome.err


@examples(6)
@given(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=30))
def test_a_hostile_scenario_name_prints_as_text(tmp_path_factory, name):
    """A scenario's name and description reach the terminal and the HTML report escaped, whatever they hold."""
    data = yaml.safe_load(SCENARIO.read_text())
    data["name"], data["description"] = name, name
    tmp = tmp_path_factory.mktemp("named")
    path = tmp / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    outcome = invoke(["plan", str(path), "--report", str(tmp / "r.html")])
    check_outcome(outcome, json_mode=False)
    if outcome.code == 0:
        page = (tmp / "r.html").read_bytes().decode("utf-8")
        read = yaml.safe_load(path.read_text(encoding="utf-8"))["name"]  # as YAML reads it back (NEL is a break)
        assert f"<h1>{html.escape(read)}</h1>" in page
