"""Run the microbenchmarks of one device and fit its profile (``computeplan profile``)."""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Callable
from typing import Any

from computeplan.profiling import microbench
from computeplan.profiling.device_profile import DeviceProfile, Provenance, fit_profile
from computeplan.profiling.timing import require_torch, torch_device

DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
Step = Callable[[str], None]  # told the name of each benchmark as it starts


def default_dtype(device: str) -> str:
    """fp32 on a CPU (every CPU runs it at full rate; bf16 needs AMX or AVX-512 BF16), bf16 on accelerators."""
    return "fp32" if device == "cpu" else "bf16"


def profile_device(
    device: str,
    *,
    quick: bool = False,
    dtype: str | None = None,
    collectives: bool = True,
    command: str = "computeplan profile",
    step: Step | None = None,
) -> DeviceProfile:
    """Measure ``device`` and fit its profile. ``step(name)`` is called as each benchmark starts (progress)."""
    torch = require_torch()
    dev = torch_device(device)
    dtype = dtype or default_dtype(device)
    if dtype not in DTYPES:
        from computeplan.errors import InvalidInput

        raise InvalidInput("dtype", f"'{dtype}' is not supported; allowed: {', '.join(DTYPES)}")
    torch_dtype = getattr(torch, DTYPES[dtype])
    sizes = microbench.Sizes.for_device(dev.type, quick=quick)
    benches: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "gemm": lambda: microbench.gemm_rows(dev, torch_dtype, sizes),
        "decode": lambda: microbench.decode_rows(dev, torch_dtype, sizes),
        "decode_attention": lambda: microbench.decode_attention_rows(dev, torch_dtype, sizes),
        "attention": lambda: microbench.attention_rows(dev, torch_dtype, sizes),
        "stream": lambda: microbench.stream_rows(dev, torch_dtype, sizes),
        "elementwise": lambda: microbench.elementwise_rows(dev, torch_dtype, sizes),
        "optimizer": lambda: microbench.optimizer_rows(dev, torch_dtype, sizes),
    }
    if collectives:
        benches["collectives"] = lambda: microbench.collective_rows(dev.type, sizes)
    measurements: dict[str, list[dict[str, Any]]] = {}
    for name, bench in benches.items():
        if step is not None:
            step(name)
        measurements[name] = bench()
    if step is not None:
        step("dispatch")
    dispatch = microbench.dispatch_overhead_s(dev, torch_dtype, sizes)
    provenance = Provenance(
        device=device,
        device_name=_device_name(torch, dev),
        dtype=dtype,
        element_bytes=torch.empty((), dtype=torch_dtype).element_size(),
        torch_version=str(torch.__version__),
        driver=_driver(torch, dev),
        date=datetime.date.today().isoformat(),
        command=command,
        quick=quick,
    )
    return fit_profile(
        measurements,
        profile_id=f"profile-{device}",
        provenance=provenance,
        dispatch_s=dispatch,
        memory_capacity_bytes=_memory_bytes(torch, dev),
    )


def _device_name(torch: Any, dev: Any) -> str:
    if dev.type == "cuda":
        return str(torch.cuda.get_device_name(dev))
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def _driver(torch: Any, dev: Any) -> str | None:
    if dev.type == "cuda":
        return f"CUDA {torch.version.cuda}"
    return None


def _memory_bytes(torch: Any, dev: Any) -> float:
    if dev.type == "cuda":
        return float(torch.cuda.get_device_properties(dev).total_memory)
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16.0 * 2**30
