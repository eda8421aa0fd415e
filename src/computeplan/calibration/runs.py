"""Measured training runs in the schema of shared/reference/SCHEMA.md, read from CSV into typed rows.

Blank cells mean "not reported"; they stay ``None`` here and the validator fills layout fields by search.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

from computeplan.catalog.loader import Catalog
from computeplan.errors import ComputeplanError
from computeplan.workload.transformer import TransformerSpec

TRAINING_METRICS = ("step_time_s", "tokens_per_s_per_chip", "tflops_per_chip", "mfu")
RECOMPUTE = {"none": 0, "selective": 1, "full": 2}
REQUIRED_COLUMNS = ("id", "chip", "num_chips", "global_batch", "metric", "value")


@dataclass(frozen=True, kw_only=True)
class TrainingRun:
    """One measured run: the model, the hardware, whatever layout the source gave, and the measurement."""

    id: str
    source: str
    spec: TransformerSpec
    seq_len: int
    chip: str
    num_chips: int
    global_batch: int
    fixed: dict[str, list[int]]  # layout fields the source reported
    metric: str
    value: float
    notes: str


class RunFileError(ComputeplanError):
    """A measured-runs CSV is malformed."""


def _int(row: dict[str, str], key: str, where: str) -> int | None:
    raw = (row.get(key) or "").strip()
    if not raw:
        return None
    try:
        return int(float(raw))
    except ValueError:
        raise RunFileError(f"{where}: column '{key}' must be a whole number, got {raw!r}") from None


def _spec(row: dict[str, str], catalog: Catalog, where: str) -> tuple[TransformerSpec, int]:
    """The row's architecture: the catalog model's, overridden by any architecture column the row fills."""
    model_id = (row.get("model") or "").strip()
    col = {
        key: _int(row, key, where)
        for key in (
            "layers",
            "hidden",
            "heads",
            "kv_heads",
            "head_dim",
            "ffn_hidden",
            "vocab",
            "seq_len",
            "moe_experts",
            "moe_top_k",
            "moe_ffn_hidden",
            "moe_shared_experts",
        )
    }
    mlp = (row.get("mlp") or "").strip()
    if mlp and mlp not in ("gelu", "swiglu"):
        raise RunFileError(f"{where}: column 'mlp' must be 'gelu' or 'swiglu', got {mlp!r}")
    if model_id:
        spec = TransformerSpec.from_entry(catalog.model(model_id))
    elif col["layers"] and col["hidden"]:
        hidden = col["hidden"]
        heads = col["heads"] or max(hidden // 128, 1)  # FLOPs barely depend on heads; 128-wide heads assumed
        spec = TransformerSpec(
            name=f"{col['layers']}L-{hidden}D",
            layers=col["layers"],
            hidden=hidden,
            heads=heads,
            kv_heads=heads,
            head_dim=hidden // heads,
            ffn_hidden=4 * hidden,
            gated_mlp=False,
            vocab=51200,
            seq_len=2048,
        )
    else:
        raise RunFileError(f"{where}: needs a catalog 'model' id or the 'layers' and 'hidden' columns")
    changes: dict[str, object] = {}
    for key in ("layers", "hidden", "heads", "ffn_hidden", "vocab", "seq_len"):
        if col[key]:
            changes[key] = col[key]
    heads = int(changes.get("heads", spec.heads))  # type: ignore[call-overload]
    hidden = int(changes.get("hidden", spec.hidden))  # type: ignore[call-overload]
    changes["kv_heads"] = col["kv_heads"] or (heads if col["heads"] else spec.kv_heads)
    changes["head_dim"] = col["head_dim"] or (hidden // heads if (col["heads"] or col["hidden"]) else spec.head_dim)
    if mlp:
        changes["gated_mlp"] = mlp == "swiglu"
    if col["moe_experts"]:
        changes.update(
            experts=col["moe_experts"],
            top_k=col["moe_top_k"] or 2,
            expert_ffn_hidden=col["moe_ffn_hidden"] or int(changes.get("ffn_hidden", spec.ffn_hidden)),  # type: ignore[call-overload]
            shared_experts=col["moe_shared_experts"] or 0,
        )
    spec = replace(spec, **changes)  # type: ignore[arg-type]
    return spec, spec.seq_len


def read_training_runs(path: str | Path, catalog: Catalog) -> tuple[list[TrainingRun], list[tuple[str, str]]]:
    """Rows of a training CSV, and (id, reason) for rows that are not training rows or cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RunFileError(f"{path}: cannot read: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RunFileError(f"{path}: missing column(s) {', '.join(missing)}; see SCHEMA.md for the columns")
    runs: list[TrainingRun] = []
    skipped: list[tuple[str, str]] = []
    for line, row in enumerate(reader, start=2):
        where = f"{path}:{line} (row {row.get('id') or '?'})"
        metric = (row.get("metric") or "").strip()
        if metric not in TRAINING_METRICS:
            skipped.append((row.get("id") or f"line {line}", f"metric '{metric}' is not a training metric"))
            continue
        spec, seq_len = _spec(row, catalog, where)
        fixed: dict[str, list[int]] = {}
        for key, name in (
            ("tp", "tp"),
            ("pp", "pp"),
            ("dp", "dp"),
            ("cp", "cp"),
            ("ep", "ep"),
            ("vpp", "vpp"),
            ("micro_batch", "mb"),
            ("zero_stage", "zero"),
        ):
            value = _int(row, key, where)
            if value is not None:
                fixed[name] = [value]
        if fixed.get("zero") != [3]:
            fixed["hsdp"] = [0]  # hybrid sharding is a ZeRO-3 variant; a run at stage 3 may have used either
        recompute = (row.get("recompute") or "").strip()
        if recompute:
            if recompute not in RECOMPUTE:
                raise RunFileError(
                    f"{where}: column 'recompute' must be one of none, selective, full; got {recompute!r}"
                )
            fixed["recompute"] = [RECOMPUTE[recompute]]
        sp = (row.get("sequence_parallel") or "").strip().lower()
        if sp:
            fixed["sp"] = [1 if sp == "true" else 0]
        precision = (row.get("precision") or "bf16").strip()
        fixed["fp8"] = [1 if precision == "fp8" else 0]
        num_chips = _int(row, "num_chips", where)
        global_batch = _int(row, "global_batch", where)
        if not num_chips or not global_batch:
            raise RunFileError(f"{where}: 'num_chips' and 'global_batch' are required")
        try:
            measured = float(row["value"])
        except ValueError:
            raise RunFileError(f"{where}: column 'value' must be a number, got {row['value']!r}") from None
        runs.append(
            TrainingRun(
                id=row["id"],
                source=row.get("source", ""),
                spec=spec,
                seq_len=seq_len,
                chip=row["chip"].strip(),
                num_chips=num_chips,
                global_batch=global_batch,
                fixed=fixed,
                metric=metric,
                value=measured,
                notes=row.get("notes", ""),
            )
        )
    return runs, skipped
