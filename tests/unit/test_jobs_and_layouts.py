"""Jobs validated on construction, layouts parsed and range-checked, tokens rounded to sequences: hand cases and
one regression test per kind of bad input the issue lists (zero, negative, NaN, inf, huge, misspelt)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeplan.errors import InvalidInput, InvalidLayout
from computeplan.estimate.training import complete_layout, parse_layout
from computeplan.workload.jobs import ServingJob, TrainingJob, parse_traffic, sequences_for_tokens
from computeplan.workload.overrides import override_spec
from computeplan.workload.transformer import TransformerSpec


def test_sequences_for_tokens_hand_cases():
    assert sequences_for_tokens(16e6, 8192) == 2048  # 1953.1 exact; 2048 = 2^11 is within 10%
    assert sequences_for_tokens(4e6, 4096) == 1024  # 976.6 exact
    assert sequences_for_tokens(3, 1) == 4  # window [int(0.9 x 3), int(1.1 x 3) + 1] = [2, 4]: 4 = 2^2 wins
    assert sequences_for_tokens(1, 8192) == 1


def _old_rule(tokens: float, seq_len: int) -> int:
    """The previous implementation (a loop over every count within 10%): the reference for the fast one."""
    exact = tokens / seq_len
    low, high = max(1, int(exact * 0.9)), max(1, int(exact * 1.1) + 1)
    return max(range(low, high + 1), key=lambda n: ((n & -n).bit_length(), -abs(n - exact)))


@given(tokens=st.floats(1.0, 2e6), seq_len=st.sampled_from([1, 7, 128, 2048, 8192]))
def test_sequences_for_tokens_matches_the_exhaustive_rule(tokens, seq_len):
    assert sequences_for_tokens(tokens, seq_len) == _old_rule(tokens, seq_len)


def test_sequences_for_tokens_is_instant_for_huge_batches():
    assert sequences_for_tokens(2.8e14, 1) == 2**48  # the old loop walked 5.6e13 candidates


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"seq_len": 0, "global_batch": 8}, "seq_len"),
        ({"seq_len": -5, "global_batch": 8}, "seq_len"),
        ({"seq_len": 8192, "global_batch": 0}, "global_batch"),
        ({"seq_len": 8192, "global_batch": 10**400}, "global_batch"),
        ({"seq_len": 8192, "global_batch": 8, "tokens": -1.0}, "tokens"),
        ({"seq_len": 8192, "global_batch": 8, "tokens": math.nan}, "tokens"),
        ({"seq_len": 8192, "global_batch": 8, "tokens": math.inf}, "tokens"),
        ({"seq_len": 8192, "global_batch": 8, "pue": 0.5}, "pue"),
        ({"seq_len": 8192.5, "global_batch": 8}, "seq_len"),
        ({"seq_len": True, "global_batch": 8}, "seq_len"),
    ],
)
def test_training_job_refuses(kwargs, field):
    with pytest.raises(InvalidInput) as err:
        TrainingJob(**kwargs)
    assert err.value.field == field and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"input_len": -1, "output_len": 10}, "input_len"),
        ({"input_len": 10, "output_len": 0}, "output_len"),
        ({"input_len": 10, "output_len": 10, "tpot_s": 0.0}, "tpot_s"),  # 0 must not silently drop the SLO
        ({"input_len": 10, "output_len": 10, "ttft_s": -1.0}, "ttft_s"),
        ({"input_len": 10, "output_len": 10, "traffic_tokens_per_day": math.inf}, "traffic_tokens_per_day"),
        ({"input_len": 10, "output_len": 10, "prefix_hit_rate": 1.0}, "prefix_hit_rate"),
        ({"input_len": 10, "output_len": 10, "utilization": 0.0}, "utilization"),
        ({"input_len": 10, "output_len": 10, "speculative_tokens": 10**6}, "speculative_tokens"),
    ],
)
def test_serving_job_refuses(kwargs, field):
    with pytest.raises(InvalidInput) as err:
        ServingJob(**kwargs)
    assert err.value.field == field


def test_traffic_text():
    assert parse_traffic("1e9tok/day", 256) == 1e9
    assert parse_traffic("50req/s", 200) == 50 * 86400 * 200
    assert parse_traffic("2B tok/day", 1) == 2e9
    for bad in ("abc", "-5tok/day", "0", "infreq/s"):
        with pytest.raises(InvalidInput, match="traffic"):
            parse_traffic(bad, 256)


def test_parse_layout_words_and_errors():
    assert parse_layout("tp=8, pp=16,recompute=full,sp=true") == {"tp": 8, "pp": 16, "recompute": 2, "sp": 1}
    with pytest.raises(InvalidInput, match="expected tp=VALUE"):  # not "did you mean 'tp'?"
        parse_layout("tp")
    with pytest.raises(InvalidInput, match="did you mean 'pp'"):
        parse_layout("ppp=2")
    with pytest.raises(InvalidInput, match="whole number"):
        parse_layout("tp=-1")


@pytest.mark.parametrize(
    ("layout", "problem"),
    [
        ({"zero": 9}, "zero=9: allowed values are 0, 1, 2, 3"),
        ({"hsdp": 2}, "hsdp=2: allowed values are 0, 1"),
        ({"tp": 0}, "tp=0: must be between 1 and 64"),
        ({"vpp": 0}, "vpp=0"),
        ({"mb": 0}, "mb=0"),
    ],
)
def test_complete_layout_refuses_out_of_range_fields(layout, problem):
    with pytest.raises(InvalidInput, match=problem):
        complete_layout(layout, 64)


def test_complete_layout_fills_dp_and_defaults():
    full = complete_layout({"tp": 8, "pp": 2}, 64)
    assert full["dp"] == 4 and full["zero"] == 1 and full["cp"] == 1
    with pytest.raises(InvalidLayout, match="does not divide 64 chips"):
        complete_layout({"tp": 3}, 64)


def test_override_spec_revalidates():
    spec = TransformerSpec(
        name="m", layers=4, hidden=256, heads=8, kv_heads=8, head_dim=32, ffn_hidden=1024, gated_mlp=True,
        vocab=1000, seq_len=128,
    )  # fmt: skip
    assert override_spec(spec, {"layers": "8"}).layers == 8
    with pytest.raises(InvalidInput, match="did you mean 'layers'"):
        override_spec(spec, {"layer": "8"})
    with pytest.raises(InvalidInput, match="whole number"):
        override_spec(spec, {"layers": "-1"})
    with pytest.raises(Exception, match="kv_heads=3 must divide heads=8"):
        override_spec(spec, {"kv_heads": "3"})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("tp=2,tp=4", "tp is given twice"),  # the last one no longer wins silently
        ("tp=2 pp=2 tp=2", "tp is given twice"),
        ("", "give at least one field"),  # not the all-default layout
        (" , ", "give at least one field"),
        ("tp=true", "tp: expected a whole number, got 'true'"),  # true/false only for switches
        ("pp=false", "pp: expected a whole number"),
        ("tp=２", "tp: expected a whole number"),  # full-width digit: ASCII only
        ("tp=٣", "tp: expected a whole number"),  # Arabic-Indic digit
        ("recompute=sometimes", "recompute: expected none, selective, full"),
        ("zero", "expected zero=VALUE"),  # a bare name is a switch only
    ],
)
def test_parse_layout_refuses(text, problem):
    with pytest.raises(InvalidInput, match=problem) as err:
        parse_layout(text)
    assert err.value.field == "layout"


def test_parse_layout_reads_the_tables_own_form():
    """The train table prints ``tp=4 dp=16 zero=1 sp recompute=selective``: pasting it back gives the same layout."""
    assert parse_layout("tp=4 dp=16 zero=1 sp recompute=selective") == {
        "tp": 4, "dp": 16, "zero": 1, "sp": 1, "recompute": 1,
    }  # fmt: skip
    assert parse_layout("tp = 8 , pp=2 fp8 hsdp=false") == {"tp": 8, "pp": 2, "fp8": 1, "hsdp": 0}
    assert parse_layout("sp=true,fp8=False") == {"sp": 1, "fp8": 0}


def test_parse_layout_reads_what_describe_layout_writes():
    from computeplan.perf.layout import describe_layout

    full = complete_layout({"tp": 8, "pp": 2, "sp": 1, "recompute": 2}, 64)
    assert parse_layout(describe_layout(full)) == full


def test_override_spec_refuses_odd_keys_and_digits():
    spec = TransformerSpec(
        name="m", layers=4, hidden=256, heads=8, kv_heads=8, head_dim=32, ffn_hidden=1024, gated_mlp=True,
        vocab=1000, seq_len=128,
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="unknown architecture field"):
        override_spec(spec, {5: "8"})
    with pytest.raises(InvalidInput, match="whole number"):
        override_spec(spec, {"layers": "８"})
    assert override_spec(spec, {"layers": 8}).layers == 8


def test_serving_job_refuses_zero_traffic_and_a_stray_acceptance_rate():
    with pytest.raises(InvalidInput, match="traffic_tokens_per_day: must be > 0"):
        ServingJob(input_len=10, output_len=10, traffic_tokens_per_day=0.0)
    with pytest.raises(InvalidInput, match=r"acceptance_rate: 0\.5 applies to speculative decoding"):
        ServingJob(input_len=10, output_len=10, acceptance_rate=0.5)
    assert ServingJob(input_len=10, output_len=10, speculative_tokens=2, acceptance_rate=0.5).acceptance_rate == 0.5
