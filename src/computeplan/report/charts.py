"""Static charts with matplotlib, rendered off-screen into bytes (the caller writes them). Presentation only."""

from __future__ import annotations

import io
from collections.abc import Sequence

PLOT_FORMATS = (".png", ".svg", ".pdf")  # the file types a chart is written as, by the output path's extension


def goodput_vs_chips(
    chips: Sequence[int],
    goodputs: Sequence[float],
    mtbf_h: Sequence[float],
    *,
    title: str,
    fmt: str = "png",
) -> bytes:
    """Goodput (left axis) and job MTBF (right axis, log) vs chips in the job, as an image in ``fmt`` (``png``,
    ``svg`` or ``pdf``). The title is drawn as plain text: a '$' in it does not start matplotlib math."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(8, 4.5), dpi=120)
    try:
        left.plot(chips, [100 * g for g in goodputs], marker="o", color="#1f77b4", label="goodput")
        left.set_xscale("log")
        left.set_xlabel("chips in the job")
        left.set_ylabel("goodput, % of wall-clock time", color="#1f77b4")
        left.grid(True, which="both", alpha=0.3)
        right = left.twinx()
        right.plot(chips, mtbf_h, marker="s", color="#d62728", label="job MTBF")
        right.set_yscale("log")
        right.set_ylabel("job MTBF, hours", color="#d62728")
        left.set_title(title.replace("$", r"\$"))
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata=_fixed_metadata(fmt))
        return buffer.getvalue()
    finally:
        plt.close(fig)


def _fixed_metadata(fmt: str) -> dict[str, str | None]:
    """No creation date in the file, so that the same plot gives the same bytes."""
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}
