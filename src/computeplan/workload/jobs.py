"""What is asked of a cluster: a training job (sequence, batch, token budget) or a serving job (lengths, latency
targets, traffic). Frozen and validated on construction, so the performance models never see a zero, a negative,
NaN or an absurd size. SI units: seconds, tokens, tokens per day."""

from __future__ import annotations

from dataclasses import dataclass

from computeplan import checks
from computeplan.economics import DEFAULT_PUE, MAX_PUE, MIN_PUE
from computeplan.errors import InvalidInput
from computeplan.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

MAX_SEQ_LEN = 2**24  # tokens per sequence (16M: beyond any published context window)
MAX_GLOBAL_BATCH = 2**24  # sequences per optimizer step
MAX_TRAINING_TOKENS = 1e18  # tokens in one run (~60,000x Llama 3's 15.6T)
MAX_CHIPS = 2**24  # chips in one cluster (16.7M; a 5 GW campus holds ~3M)
MAX_PROMPT_TOKENS = 2**24
MAX_SPECULATIVE_TOKENS = 16
MAX_TOKENS_PER_DAY = 1e18
MIN_UTILIZATION = 1e-3  # average load vs saturated throughput; below 0.1% a fleet is idle, not serving
DEFAULT_BATCH_TOKENS = 4e6  # tokens per step when the caller gives neither sequences nor tokens


@dataclass(frozen=True, kw_only=True)
class TrainingJob:
    """One training run: ``global_batch`` sequences of ``seq_len`` tokens per step; ``tokens`` to train on
    (None: price a step only). ``pue`` scales chip energy to facility energy."""

    seq_len: int
    global_batch: int
    tokens: float | None = None
    pue: float = DEFAULT_PUE

    def __post_init__(self) -> None:
        checks.whole("seq_len", self.seq_len, low=1, high=MAX_SEQ_LEN)
        checks.whole("global_batch", self.global_batch, low=1, high=MAX_GLOBAL_BATCH)
        if self.tokens is not None:
            checks.number("tokens", self.tokens, low=0.0, high=MAX_TRAINING_TOKENS, low_open=True)
        checks.number("pue", self.pue, low=MIN_PUE, high=MAX_PUE)

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.global_batch


def sequences_for_tokens(tokens: float, seq_len: int) -> int:
    """Sequences per step for a token batch: the count within 10% of ``tokens / seq_len`` with the largest
    power-of-two factor (then the nearest), so that the batch divides among data-parallel ranks
    (16M tokens of 8192 -> 2048 sequences). O(64) work whatever the size."""
    checks.number("global_batch_tokens", tokens, low=1.0, high=MAX_GLOBAL_BATCH * float(MAX_SEQ_LEN))
    checks.whole("seq_len", seq_len, low=1, high=MAX_SEQ_LEN)
    exact = tokens / seq_len
    low, high = max(1, int(exact * 0.9)), max(1, int(exact * 1.1) + 1)
    for power in range(high.bit_length(), -1, -1):
        step = 1 << power
        candidates = [n for n in (step * (low // step), step * -(-low // step), step * round(exact / step)) if n]
        inside = [n for n in candidates if low <= n <= high and n % step == 0]
        if inside:
            return min(inside, key=lambda n: abs(n - exact))
    return low


@dataclass(frozen=True, kw_only=True)
class ServingJob:
    """Requests of ``input_len`` prompt and ``output_len`` generated tokens, latency targets (None: no target),
    traffic in output tokens per day (None: price one replica), and serving options."""

    input_len: float
    output_len: float
    tpot_s: float | None = None
    ttft_s: float | None = None
    traffic_tokens_per_day: float | None = None
    weight_precisions: tuple[str, ...] | None = None
    prefix_hit_rate: float = 0.0
    speculative_tokens: int = 0
    acceptance_rate: float = 0.0
    utilization: float = 1.0
    pue: float = DEFAULT_PUE

    def __post_init__(self) -> None:
        checks.number("input_len", self.input_len, low=0.0, high=MAX_PROMPT_TOKENS)
        precisions = self.weight_precisions
        if precisions is not None and (
            not isinstance(precisions, tuple) or not precisions or not all(isinstance(w, str) for w in precisions)
        ):
            raise InvalidInput(
                "weight_precisions",
                f"expected None or a non-empty tuple of names such as ('bf16', 'fp8'), got {precisions!r}",
            )
        checks.number("output_len", self.output_len, low=1.0, high=MAX_PROMPT_TOKENS)
        if self.tpot_s is not None:
            checks.number("tpot_s", self.tpot_s, low=0.0, high=SECONDS_PER_HOUR, low_open=True)
        if self.ttft_s is not None:
            checks.number("ttft_s", self.ttft_s, low=0.0, high=SECONDS_PER_DAY, low_open=True)
        if self.traffic_tokens_per_day is not None:
            checks.number(  # no traffic is None (price one replica), not 0: as in parse_traffic
                "traffic_tokens_per_day", self.traffic_tokens_per_day, low=0.0, high=MAX_TOKENS_PER_DAY, low_open=True
            )
        checks.fraction("prefix_hit_rate", self.prefix_hit_rate)
        acceptance = checks.fraction("acceptance_rate", self.acceptance_rate)
        drafts = checks.whole("speculative_tokens", self.speculative_tokens, low=0, high=MAX_SPECULATIVE_TOKENS)
        if acceptance > 0.0 and drafts == 0:
            raise InvalidInput(
                "acceptance_rate",
                f"{acceptance:g} applies to speculative decoding: give speculative_tokens > 0 too, or leave it at 0",
            )
        checks.number("utilization", self.utilization, low=MIN_UTILIZATION, high=1.0)
        checks.number("pue", self.pue, low=MIN_PUE, high=MAX_PUE)


def parse_traffic(text: str, output_len: float) -> float:
    """Output tokens per day from '1e9tok/day', '2B tok/day', '20000tok/s', '50req/s' (x output tokens),
    '1000req/day' or a bare number (tokens per day)."""
    from computeplan.errors import ComputeplanError
    from computeplan.units import SECONDS_PER_DAY, Dimension, parse_quantity

    checks.number("output_len", output_len, low=1.0, high=MAX_PROMPT_TOKENS)  # scales req/s and req/day
    if not isinstance(text, str):
        raise InvalidInput("traffic", f"expected text such as '50req/s', got {type(text).__name__}")
    raw = text.replace(" ", "")
    scales = (
        ("tokens/day", 1.0),
        ("tok/day", 1.0),
        ("tok/s", SECONDS_PER_DAY),
        ("req/s", SECONDS_PER_DAY * output_len),
        ("req/day", output_len),
    )
    suffix, scale = next(((s, k) for s, k in scales if raw.endswith(s)), ("", 1.0))
    try:
        value = parse_quantity(raw[: len(raw) - len(suffix)], Dimension.COUNT, field="traffic") * scale
    except ComputeplanError:
        raise InvalidInput(
            "traffic", f"cannot read {text!r}; use e.g. 1e9tok/day, 2B tok/day, 20000tok/s or 50req/s"
        ) from None
    return checks.number("traffic", value, low=0.0, high=MAX_TOKENS_PER_DAY, low_open=True)


def traffic_per_day(traffic: object, output_len: float) -> float | None:
    """The ``traffic`` argument of the API as output tokens per day: None (no traffic), a number of tokens per day
    (> 0: no traffic is None), or text for :func:`parse_traffic`."""
    if traffic is None:
        return None
    if isinstance(traffic, str):
        return parse_traffic(traffic, output_len)
    return checks.number("traffic", traffic, low=0.0, high=MAX_TOKENS_PER_DAY, low_open=True)
