"""What-if (issue 9): would pricing torchtitan's 500 W H100s as power-capped chips lower the training error?

torchtitan's benchmark rows ran on Meta Grand Teton H100s (96 GB HBM2e, 500 W power limit), which only their notes
say. This prices those rows on a what-if chip whose peaks are a share of the 700 W part's (a lower sustained clock),
and reports the leave-one-source-out error for each share. Nothing here changes the shipped model or data.
Usage: python benchmarks/power_cap_whatif.py [--shares 0.80,0.85,0.90]
"""

from __future__ import annotations

import argparse
import copy
import csv
import tempfile
from pathlib import Path

import yaml

from computeplan import api
from computeplan.catalog import load_catalog
from computeplan.catalog.loader import data_file

ROOT = Path(__file__).parents[1]
RUNS = ROOT / "tests" / "golden" / "data" / "calibration-training.csv"


def capped_chip(share: float) -> dict[str, object]:
    """The h100-sxm catalog entry with bf16 and fp8 peaks scaled by ``share`` and 96 GB of HBM."""
    chips = yaml.safe_load(data_file("chips.yaml").read_text())["chips"]
    chip = copy.deepcopy(next(c for c in chips if c["id"] == "h100-sxm"))
    chip["id"], chip["name"] = f"h100-cap{round(share * 100)}", f"what-if: H100 at {share:.0%} of its peaks"
    for key in ("bf16_flops_per_s", "fp8_flops_per_s"):
        value, unit = str(chip[key]["value"]).split(" ", 1)
        chip[key]["value"] = f"{float(value) * share:.1f} {unit}"
    chip["hbm_bytes"]["value"] = "96 GB"
    chip.pop("price_usd_per_hour", None)
    return chip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shares", default="0.80,0.85,0.90")
    shares = [float(x) for x in parser.parse_args().shares.split(",")]
    with RUNS.open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = list(reader.fieldnames or []), list(reader)
    capped = [r for r in rows if "torchtitan" in r["source"] and "500W" in r["notes"] and r["chip"] == "h100-sxm"]
    base = api.validate(RUNS, loso=True).loso.summary
    print(f"{len(capped)} torchtitan rows at 500 W; shipped model: LOSO median {base.median_abs_error_pct:.2f}%\n")
    print("| peak share | LOSO median % | LOSO p90 % | worst % |")
    print("| --- | --- | --- | --- |")
    row = "| {} | {:.2f} | {:.1f} | {:.1f} |"
    print(row.format("1.00 (shipped)", base.median_abs_error_pct, base.p90_abs_error_pct, base.max_abs_error_pct))
    for share in shares:
        chip = capped_chip(share)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "chip.yaml").write_text(yaml.safe_dump({"chips": [chip]}))
            runs = Path(tmp) / "runs.csv"
            with runs.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=fields)
                writer.writeheader()
                writer.writerows({**r, "chip": chip["id"]} if r in capped else r for r in rows)
            s = api.validate(runs, catalog=load_catalog(tmp), loso=True).loso.summary
        print(row.format(f"{share:.2f}", s.median_abs_error_pct, s.p90_abs_error_pct, s.max_abs_error_pct))


if __name__ == "__main__":
    main()
