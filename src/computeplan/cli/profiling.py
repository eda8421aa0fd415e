"""``computeplan profile`` and ``computeplan measure``: calibrate on your own hardware (needs the ``profile`` extra,
PyTorch). Registered on the main application by :mod:`computeplan.cli.app`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer

from computeplan.cli.options import DebugOption, JsonOption, guard_output, print_json, require_path

DeviceOption = Annotated[str, typer.Option(help="cpu, cuda or neuron")]
QuickOption = Annotated[bool, typer.Option("--quick", help="fewer shapes: a CPU in under two minutes")]


def _step(json_out: bool, what: str) -> Callable[[str], None]:
    """A progress line on stderr (a terminal only), told each benchmark or shape as it starts."""
    from computeplan.report import safe_text

    def step(name: str) -> None:
        if not json_out and sys.stderr.isatty():
            sys.stderr.write(f"\r\033[K{what} {safe_text(name, markup=False)} ...")
            sys.stderr.flush()

    return step


def _clear(json_out: bool) -> None:
    if not json_out and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")


def profile(
    out: Annotated[str, typer.Option(help="write the profile to this YAML file")],
    device: DeviceOption = "cpu",
    quick: QuickOption = False,
    dtype: Annotated[str | None, typer.Option(help="fp32, bf16 or fp16 [default: fp32 on cpu, else bf16]")] = None,
    collectives: Annotated[
        bool,
        typer.Option("--collectives/--no-collectives", help="time all-reduce, all-gather, all-to-all over 2 processes"),
    ] = True,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Microbenchmark this machine's device (GEMMs, attention, memory, element-wise kernels, dispatch, collectives)
    and fit the efficiency curves the models use; the profile adds a chip (`--profile FILE` on train, serve and
    validate)."""
    import yaml

    from computeplan.files import write_atomic
    from computeplan.profiling.run import profile_device
    from computeplan.report import safe_text

    require_path(out, "--out")
    inputs = guard_output(out, what="device profile", catalog=None, files=[], efficiency=False)
    command = "computeplan " + " ".join(sys.argv[1:]) if sys.argv[1:] else "computeplan profile"
    found = profile_device(
        device, quick=quick, dtype=dtype, collectives=collectives, command=command, step=_step(json_out, "measuring")
    )
    _clear(json_out)
    text = "# Device profile (computeplan profile); measured on this machine, do not edit by hand.\n"
    text += yaml.safe_dump(found.model_dump(mode="json"), sort_keys=False)
    write_atomic(out, text, inputs=inputs, what="device profile")
    if json_out:
        fitted = found.fitted.model_dump()
        print_json({"out": out, "id": found.id, "provenance": found.provenance.model_dump(), **fitted})
        return
    from computeplan.report.profile_tables import print_profile

    print_profile(found)
    typer.echo(f"wrote {safe_text(out, markup=False)}")


def measure(
    profile_path: Annotated[str, typer.Option("--profile", help="a profile written by `computeplan profile`")],
    device: Annotated[str | None, typer.Option(help="cpu, cuda or neuron [default: the profile's]")] = None,
    quick: QuickOption = False,
    repeats: Annotated[int, typer.Option(min=1, max=100, help="timed repeats per shape (the median is kept)")] = 5,
    markdown: Annotated[bool, typer.Option("--markdown", help="print the docs/ACCURACY.md section instead")] = False,
    json_out: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Time real training steps and decode steps of small Llama-style models on the device, on shapes the profile
    never ran, and compare them with the models' predictions from the profile (and from the uncalibrated
    defaults)."""
    from computeplan.profiling.device_profile import load_profile
    from computeplan.profiling.measure import measure_device

    require_path(profile_path, "--profile")
    found = load_profile(profile_path)
    report = measure_device(found, device=device, quick=quick, repeats=repeats, step=_step(json_out, "timing"))
    _clear(json_out)
    if json_out:
        print_json(report.to_dict())
        return
    from computeplan.report.profile_tables import measure_markdown, print_measure

    if markdown:
        typer.echo(measure_markdown(report, command=f"computeplan measure --profile {profile_path}"), nl=False)
    else:
        print_measure(report)
