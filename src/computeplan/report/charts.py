"""Static charts (PNG) with matplotlib, rendered off-screen. Presentation only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def goodput_vs_chips(
    chips: Sequence[int], goodputs: Sequence[float], mtbf_h: Sequence[float], out: str | Path, *, title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(8, 4.5), dpi=120)
    left.plot(chips, [100 * g for g in goodputs], marker="o", color="#1f77b4", label="goodput")
    left.set_xscale("log")
    left.set_xlabel("chips in the job")
    left.set_ylabel("goodput, % of wall-clock time", color="#1f77b4")
    left.grid(True, which="both", alpha=0.3)
    right = left.twinx()
    right.plot(chips, mtbf_h, marker="s", color="#d62728", label="job MTBF")
    right.set_yscale("log")
    right.set_ylabel("job MTBF, hours", color="#d62728")
    left.set_title(title)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
