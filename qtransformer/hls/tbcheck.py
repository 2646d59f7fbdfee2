"""Compare C-simulation results with the Keras predictions in a project's ``tb_data``.

Used by the project Makefile (``make csim``, ``make cosim``; copied into every project
with it, so it needs numpy only): exit status 0 only when every output matches
within ``--tol-lsb`` LSBs of the HLS output type (default 0 = bit-exact).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np


def output_lsb(project_dir: Path) -> float:
    """LSB of ``result_t`` from ``firmware/defines.h`` (1.0 if it cannot be read)."""
    defines = project_dir / "firmware" / "defines.h"
    text = defines.read_text() if defines.is_file() else ""
    m = re.search(r"typedef\s+ap_u?fixed<\s*(\d+)\s*,\s*(-?\d+)[^>]*>\s+result_t;", text)
    return 2.0 ** -(int(m.group(1)) - int(m.group(2))) if m else 1.0


def compare(project_dir, results: str = "csim_results.log", tol_lsb: float = 0.0) -> dict:
    """Summary dict of the comparison; ``ok`` says whether it passed."""
    prj = Path(project_dir)
    ref = np.atleast_2d(np.loadtxt(prj / "tb_data" / "tb_output_predictions.dat"))
    got = np.atleast_2d(np.loadtxt(prj / "tb_data" / results))
    n = min(len(ref), len(got))
    if n == 0 or ref.shape[1] != got.shape[1]:
        return {"ok": False, "n": n, "reason": f"shape mismatch {ref.shape} vs {got.shape}"}
    ref, got = ref[:n], got[:n]
    lsb = output_lsb(prj)
    err = float(np.abs(ref - got).max())
    agree = float(np.mean(ref.argmax(1) == got.argmax(1)))
    ok = err <= tol_lsb * lsb + 1e-12 and n == len(np.atleast_2d(
        np.loadtxt(prj / "tb_data" / "tb_output_predictions.dat")))
    return {"ok": ok, "n": n, "argmax_agreement": agree, "max_abs_error": err,
            "max_error_lsb": err / lsb}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("project_dir")
    ap.add_argument("--results", default="csim_results.log")
    ap.add_argument("--tol-lsb", type=float, default=0.0)
    ap.add_argument("--label", default="csim", help="what the results are (first word printed)")
    args = ap.parse_args(argv)
    r = compare(args.project_dir, args.results, args.tol_lsb)
    status = "OK" if r["ok"] else "MISMATCH"
    detail = r.get("reason") or (f"argmax agreement {r['argmax_agreement']:.4f}, max error "
                                 f"{r['max_error_lsb']:g} LSB ({r['max_abs_error']:g})")
    print(f"{args.label} {status}: {r['n']} samples, {detail}")
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
