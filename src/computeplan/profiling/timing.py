"""Timing on a PyTorch device: warm-up, synchronisation, median of repeats. Imports PyTorch lazily."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from computeplan.errors import InvalidInput

DEVICES = ("cpu", "cuda", "neuron")


def require_torch() -> Any:
    """The ``torch`` module, or a one-line error naming the extra that installs it."""
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise InvalidInput(
            "torch",
            "profiling needs PyTorch: pip install 'computeplan[profile]' (pins torch 2.13.0, a CPU build on "
            "CPU-only machines)",
        ) from None
    return torch


def torch_device(name: str) -> Any:
    """A ``torch.device`` for ``cpu``, ``cuda`` or ``neuron``, refusing one this machine does not have."""
    torch = require_torch()
    if name not in DEVICES:
        raise InvalidInput("device", f"'{name}' is not a device; allowed: {', '.join(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise InvalidInput("device", "cuda is not available on this machine (torch.cuda.is_available() is False)")
    if name == "neuron":
        try:
            import torch_neuronx  # type: ignore[import-not-found]  # noqa: F401
        except ImportError:
            raise InvalidInput("device", "neuron needs torch-neuronx (AWS Neuron SDK), not installed here") from None
        import torch_xla.core.xla_model as xm  # type: ignore[import-not-found,unused-ignore]

        return xm.xla_device()
    return torch.device(name)


def synchronize(device: Any) -> None:
    torch = require_torch()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "xla":  # pragma: no cover - Neuron only
        import torch_xla.core.xla_model as xm  # type: ignore[import-not-found,unused-ignore]

        xm.mark_step()
        xm.wait_device_ops()


def median_seconds(fn: Callable[[], object], device: Any, *, warmup: int = 2, repeats: int = 5) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls after ``warmup`` calls, synchronising the
    device around each call (so queued GPU work is counted)."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def repeats_for(seconds_each: float, budget_s: float, *, low: int = 3, high: int = 50) -> int:
    """How many repeats fit ``budget_s`` at ``seconds_each`` per call, within [low, high]."""
    if seconds_each <= 0:
        return high
    return max(low, min(high, int(budget_s / seconds_each)))
