"""Deploy benchmark (not a test): the driver emulated on whole test splits, and this host's CPU
as the baseline the FPGA is compared with.

For each run in :data:`RUNS` (built with the streamed benchmark's commands into
``models/bench-deploy/<name>`` unless already there):

* **driver, emulated**: ``qtransformer.deploy.Driver(run, emulate=True)`` on the whole test
  split (batches of 256): agreement with the Keras predictions stored with the run, accuracy,
  and the driver's own host cost per sample (tokenize, embed + pack, unpack), also at batch 1;
* **CPU baselines at batch 1** (median per sample over the first ``--samples`` test inputs,
  after warm-up; this machine's x86 CPU, not the board's ARM): Keras ``predict``, the Keras
  model called eagerly and as a ``tf.function`` graph, TFLite float and int8 (with TF Select
  ops: the integer arithmetic is not in TFLite's builtins; where the converter takes it),
  and the C simulation itself (the IP's exact integer arithmetic, g++ -O2, through the
  emulator's ctypes call);
* **FPGA**: the latency ESTIMATE (core cycles from the run's report, plus the AXI wrapper's one
  value per cycle in and out) at the board clock; no board run exists, so every speedup is
  labelled an estimate.

    python benchmarks/deploy_bench.py [--only digits-default] [--samples 200]

Writes benchmarks/results/deploy_bench.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from stream_bench import BUILDS  # noqa: E402  (the same commands as the streamed benchmark)

RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "models" / "bench-deploy"
RUNS = {"digits-default": BUILDS["digits-default"], "sst2-8": BUILDS["sst2-8"]}


def build(name: str) -> Path:
    run = WORK / name
    if (run / "deploy" / "deploy.json").is_file():
        return run
    cmd = [sys.executable, "-m", "qtransformer.build", "--board", "pynq-z2", *RUNS[name],
           "--output", str(run), "--hls-output", str(run / "hls"), "--force", "--quiet"]
    print(f"[bench] building {name}: {' '.join(cmd[1:])}", flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"build of {name} failed ({proc.returncode})")
    return run


def median_us(fn, inputs, warmup: int = 5) -> float:
    for x in inputs[:warmup]:
        fn(x)
    times = []
    for x in inputs:
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return round(1e6 * statistics.median(times), 1)


def keras_inputs(driver, inputs) -> np.ndarray:
    """What the Keras model takes: token ids (the driver's own tokenizer) or the arrays."""
    if driver.tokenizer is not None:
        return np.asarray(driver.tokenizer.encode(list(inputs), driver.bundle.meta["seq_len"]),
                          np.int32)
    return np.asarray(inputs, np.float32)


def tflite(model, x: np.ndarray, keras_labels: np.ndarray, int8: bool) -> dict:
    """TFLite on one thread. The model's integer arithmetic (shifts, floor divisions, rounding
    in float64) is not in TFLite's builtin ops, so both conversions allow TF Select ops (the
    flex delegate); int8 adds full-integer quantization on 100 inputs. ``agreement``: argmax
    against Keras on ``x``."""
    import tensorflow as tf

    ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    try:
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.target_spec.supported_ops = ops
        if int8:
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = lambda: ([x[i:i + 1]] for i in range(min(100, len(x))))
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, *ops[1:]]
        interp = tf.lite.Interpreter(model_content=conv.convert(), num_threads=1)
        interp.allocate_tensors()
    except Exception as exc:  # noqa: BLE001 - the converter's failure is the result
        lines = [ln for ln in str(exc).splitlines() if "not supported" in ln or "error" in ln]
        return {"converted": False, "why": f"{type(exc).__name__}: {(lines or ['?'])[-1][:200]}"}
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]

    def run(sample):
        interp.set_tensor(inp["index"], sample[None].astype(inp["dtype"]))
        interp.invoke()
        return interp.get_tensor(out["index"])

    try:
        labels = np.array([run(sample).argmax() for sample in x])
    except RuntimeError as exc:   # converted, but the interpreter cannot run it
        return {"converted": False, "why": f"converted, fails to run: {str(exc)[:200]}"}
    return {"converted": True, "us": median_us(run, list(x)),
            "agreement": float(np.mean(labels == keras_labels))}


def measure(name: str, n: int) -> dict:
    from qtransformer.deploy import Driver
    from qtransformer.model import load_model

    run = build(name)
    report = json.loads((run / "report.json").read_text())
    driver = Driver(run, emulate=True)
    inputs, labels, keras_logits = driver.bundle.test_split()
    split = driver.evaluate_test_split(256)
    batched = driver.timings.per_sample_us()
    one = Driver(run, emulate=True)          # batch 1: the board's latency case
    for i in range(min(n, len(labels))):
        one.predict(inputs[i:i + 1], 1)
    single = one.timings.per_sample_us()

    import tensorflow as tf

    model = load_model(run / "model.h5")
    x = keras_inputs(driver, inputs[:n])

    @tf.function(reduce_retracing=True)
    def graph(batch):
        return model(batch, training=False)

    keras_labels = keras_logits[:n].argmax(-1)
    cpu = {"keras_predict_us": median_us(lambda s: model.predict(s[None], verbose=0), list(x)),
           "keras_eager_us": median_us(lambda s: model(s[None], training=False), list(x)),
           "keras_graph_us": median_us(lambda s: graph(s[None]), list(x)),
           "tflite_float": tflite(model, x, keras_labels, int8=False),
           "tflite_int8": tflite(model, x, keras_labels, int8=True),
           "csim_us": single["device"]}
    est = report["hardware_estimate"]
    lay = driver.layout
    cycles = est["cycles"] + lay.inputs.n + (lay.mask.n if lay.mask else 0) + lay.outputs.n
    fpga_us = cycles / est["clock_mhz"]
    return {"run": name, "command": "python -m qtransformer.build --board pynq-z2 "
            + " ".join(RUNS[name]), "n_test": split["n"],
            **{k: split[k] for k in ("agreement", "max_error_lsb", "accuracy",
                                     "keras_accuracy")},
            "driver_us_batch256": batched, "driver_us_batch1": single, "cpu": cpu,
            "fpga_estimate": {"core_cycles": est["cycles"], "wrapper_cycles": cycles
                              - est["cycles"], "clock_mhz": est["clock_mhz"],
                              "us": round(fpga_us, 1), "io_type": est["io_type"]},
            "speedup_estimate": {k: round(v / fpga_us, 2) for k, v in (
                ("keras_graph", cpu["keras_graph_us"]), ("csim", cpu["csim_us"]),
                ("tflite_float", cpu["tflite_float"].get("us")),
                ("tflite_int8", cpu["tflite_int8"].get("us"))) if v}}


def markdown(rows: list[dict], env: dict) -> str:
    out = ["# Deploy: the emulated driver, and this host's CPU against the FPGA estimate", "",
           f"Host: {env['cpu']} ({env['cores']} cores), Python {env['python']}; measured "
           f"{env['date']}. CPU times are medians per sample at batch 1 over the first "
           f"{env['samples']} test inputs (`python benchmarks/deploy_bench.py`); the FPGA "
           "figure is the latency ESTIMATE at the board clock (no board run), so every "
           "speedup is an estimate too, and against this x86 host, not the board's ARM.", "",
           "Driver, emulated, whole test split:", "",
           "| run | test n | agreement with Keras | max error | accuracy | host us/sample at "
           "batch 1 (tokenize, embed+pack, unpack) | host us/sample at batch 256 |",
           "|" + "---|" * 7]
    for r in rows:
        d1, d256 = r["driver_us_batch1"], r["driver_us_batch256"]
        out.append(f"| {r['run']} | {r['n_test']} | {r['agreement']:.4f} | "
                   f"{r['max_error_lsb']:g} LSB | {r['accuracy']:.4f} | {d1['host']:,.0f} "
                   f"({d1['tokenize']:,.0f}, {d1['embed_pack']:,.0f}, {d1['unpack']:,.0f}) | "
                   f"{d256['host']:,.1f} |")
    out += ["", "Per sample at batch 1, this host's CPU against the FPGA estimate:", "",
            "| run | Keras predict | Keras eager | Keras graph (tf.function) | TFLite float "
            "(+TF Select) | TFLite int8 | C sim (the IP's integers, g++ -O2) | FPGA estimate | "
            "speedup estimate vs graph / TFLite / C sim |", "|" + "---|" * 9]
    for r in rows:
        c, f, s = r["cpu"], r["fpga_estimate"], r["speedup_estimate"]
        lite = [f"{c[k]['us']:,.0f} us (agrees {c[k]['agreement']:.3f})" if c[k]["converted"]
                else "no result" for k in ("tflite_float", "tflite_int8")]
        out.append(
            f"| {r['run']} | {c['keras_predict_us']:,.0f} us | {c['keras_eager_us']:,.0f} us | "
            f"{c['keras_graph_us']:,.0f} us | {lite[0]} | {lite[1]} | {c['csim_us']:,.0f} us | "
            f"{f['us']:,.1f} us ({f['core_cycles']:,} + {f['wrapper_cycles']:,} cycles at "
            f"{f['clock_mhz']:g} MHz) | {s.get('keras_graph', '-')}x / "
            f"{s.get('tflite_float', '-')}x / {s.get('csim', '-')}x |")
    out += ["", "Commands: " + "; ".join(f"`{r['command']}`" for r in rows), ""]
    for r in rows:
        for k in ("tflite_float", "tflite_int8"):
            if not r["cpu"][k]["converted"]:
                out.append(f"- {r['run']} {k}: no result ({r['cpu'][k]['why']})")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=list(RUNS))
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rows = [measure(name, args.samples) for name in (args.only or RUNS)]
    env = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
           "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
           "samples": args.samples}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "deploy_bench.json").write_text(json.dumps({"env": env, "runs": rows},
                                                          indent=1) + "\n")
    (RESULTS / "deploy_bench.md").write_text(markdown(rows, env))
    print(markdown(rows, env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
