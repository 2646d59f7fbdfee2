"""``python -m qtransformer.deploy RUN_DIR [TEXT ...] [--file F] [--emulate]``.

Without inputs: the run's test split, compared with the Keras model's predictions stored with
the run; the last line is one JSON object (agreement, accuracy, timings). With inputs: one line
per input (label, score, input), then the JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import QTError
from .bundle import Bundle, load_bundle
from .driver import Driver


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m qtransformer.deploy",
                                 description="Run a built model through its FPGA IP: on a "
                                 "PYNQ board, or emulated by the C simulation (--emulate).")
    ap.add_argument("run_dir", help="the build's output directory (models/<run>)")
    ap.add_argument("texts", nargs="*", help="texts to classify (text runs)")
    ap.add_argument("--file", help="inputs: a text file, one text a line (text runs), or a "
                    ".npy array shaped like the model input")
    ap.add_argument("--emulate", action="store_true",
                    help="the C simulation instead of the board (any machine with g++)")
    ap.add_argument("--bitstream", help="the .bit (its .hwh beside it; default "
                    "<project>/bitstream/<core>.bit)")
    ap.add_argument("--batch", type=int, default=256, help="samples per DMA transfer")
    return ap


def read_inputs(path: Path, bundle: Bundle):
    """The inputs in ``path``: one text a line (text runs; every line, blank ones too, gets a
    prediction) or a ``.npy`` array shaped like the model input (checked here, before the
    emulator compiles)."""
    kind = bundle.kind
    if not path.is_file():
        raise QTError(f"input file not found: {path}")
    if path.suffix == ".npy":
        if kind == "tokens":
            raise QTError(f"{path}: a text run takes texts (one a line), not an array")
        x = np.load(path)
        bundle.check_arrays(x)
        return x
    if kind != "tokens":
        raise QTError(f"{path}: this run takes arrays (.npy shaped like the model input)")
    # "\n" only: str.splitlines would also split inside a text at U+2028, \x0b, \x0c, \x85
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise QTError(f"{path}: no texts in the file")
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]   # Python 3.8 on PYNQ v2.7


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_intermixed_args(argv)   # texts may follow --emulate
    try:
        if args.batch < 1:
            raise QTError(f"--batch {args.batch}: expected a positive number of samples")
        if args.file and args.texts:
            raise QTError("give texts on the command line or --file, not both")
        bundle = load_bundle(args.run_dir)
        kind = bundle.kind
        if args.texts and kind != "tokens":
            raise QTError("this run takes arrays: pass --file inputs.npy")
        inputs = read_inputs(Path(args.file), bundle) if args.file else args.texts
        # after every input check (the emulator compiles the IP first: a minute); progress
        # notes on stderr: stdout is the results
        driver = Driver(args.run_dir, emulate=args.emulate,
                        bitstream=Path(args.bitstream) if args.bitstream else None,
                        say=lambda note: print(note, file=sys.stderr, flush=True),
                        bundle=bundle)
        if len(inputs) == 0:
            summary = driver.evaluate_test_split(args.batch)
            calls = f" ({summary['rows']} IP calls)" if summary["rows"] != summary["n"] else ""
            print(f"[deploy] {driver.device.name}: {summary['n']} test samples{calls}, agreement "
                  f"with Keras {summary['agreement']:.4f}, accuracy {summary['accuracy']:.4f}")
        else:
            pred = driver.predict(inputs, args.batch)
            for i, name in enumerate(pred.names):
                shown = inputs[i] if kind == "tokens" else f"sample {i}"
                print(f"{name}\t{pred.scores[i].max():.4f}\t{shown}")
            summary = {"n": len(inputs)}
    except QTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = {"backend": driver.device.name, **summary,
               "us_per_sample": driver.timings.per_sample_us()}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
