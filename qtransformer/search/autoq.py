"""Mixed-precision bit-width search (AutoQKeras-style) driven by KerasTuner.

QKeras' AutoQKeras only knows Dense/Conv/Activation layers, so it cannot choose widths for
our attention layer (projections, scores, softmax probabilities). This module drives
KerasTuner directly instead: a trial picks one width per *role* and becomes a
:class:`~qtransformer.config.QuantConfig` through ``overrides`` (layer-name globs), so the
winning trial is an ordinary :class:`~qtransformer.config.BuildConfig` that
``python -m qtransformer.build --config`` reproduces.

Roles (hyperparameter names): ``attn_bits`` (``block*_attn`` projections), ``ffn_bits``
(``block*_ffn1``/``block*_ffn2``), ``io_bits`` (``patch_proj`` and ``classifier``),
``act_bits`` (every activation; its integer bits are capped at ``act_bits - 3``),
``score_bits`` and ``prob_bits`` (attention ``Q K^T``
scores and softmax probabilities).

Objective (QKeras' "forgiving factor", additive form)::

    score = val_accuracy + ff * log2(ref_cost / trial_cost)

so halving the cost is worth ``ff`` accuracy. The reference is the base config's uniform
quantization (default 8-bit weights and activations). Validation accuracy is used so the test
split stays unseen by the search; test accuracy is recorded alongside.

Distributed mode is KerasTuner's own: the oracle lives in the chief process (a gRPC server)
and workers ask it for trials. :func:`make_oracle`'s oracle keeps the time limit and the progress
lines on the oracle side so they behave the same in one process and in many.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import time
from dataclasses import dataclass, field

from ..config import BuildConfig, parse_bits
from ..errors import QTError

WEIGHT_CHOICES = ["binary", "ternary", "2", "4", "8"]
ACT_CHOICES = [4, 6, 8]
SCORE_CHOICES = [6, 8, 10]
PROB_CHOICES = [5, 7, 9]
COSTS = ("bits", "bops", "lut")
ORACLES = ("random", "bayesian")
WEIGHT_ROLES = {"attn_bits": ["block*_attn"], "ffn_bits": ["block*_ffn1", "block*_ffn2"],
                "io_bits": ["patch_proj", "classifier"]}


@dataclass
class SearchSpace:
    """The width choices per role; validated so a bad choice fails before any training."""

    weights: list[str] = field(default_factory=lambda: list(WEIGHT_CHOICES))
    act: list[int] = field(default_factory=lambda: list(ACT_CHOICES))
    score: list[int] = field(default_factory=lambda: list(SCORE_CHOICES))
    prob: list[int] = field(default_factory=lambda: list(PROB_CHOICES))

    def validate(self, base: BuildConfig) -> None:
        self.weights = list(dict.fromkeys(parse_bits(w) for w in self.weights))
        if "float" in self.weights:
            raise QTError("weight choices must be quantized (float has no fixed-point form)")
        for name in ("act", "score", "prob"):
            if not getattr(self, name):
                raise QTError(f"no {name} choices given")
            setattr(self, name, sorted(set(getattr(self, name))))
        # Build one config with the extreme choices: QuantConfig.validate checks the widths
        # (e.g. act_int must fit the smallest act width).
        for values in (self.extreme(min), self.extreme(max)):
            apply_values(base, values).validate()

    def extreme(self, pick) -> dict:
        return {"attn_bits": self.weights[0], "ffn_bits": self.weights[0],
                "io_bits": self.weights[0], "act_bits": pick(self.act),
                "score_bits": pick(self.score), "prob_bits": pick(self.prob)}

    def uniform_points(self, base: BuildConfig) -> list[dict]:
        """One trial per weight choice with that choice in every role (the uniform presets),
        activation/score/probability widths at the base's values where they are choices (else
        the widest): the search starts from the presets, so its best is at least as good as
        theirs by its own score."""
        q = base.quant

        def pick(value, choices):
            return value if value in choices else max(choices)

        rest = {"act_bits": pick(q.act_bits, self.act), "score_bits": pick(q.score_bits,
                                                                           self.score),
                "prob_bits": pick(q.prob_bits, self.prob)}
        return [{**{role: w for role in WEIGHT_ROLES}, **rest} for w in self.weights]

    def hyperparameters(self):
        """The KerasTuner space: one Choice per role."""
        import keras_tuner as kt

        hp = kt.HyperParameters()
        for role in WEIGHT_ROLES:
            hp.Choice(role, self.weights)
        hp.Choice("act_bits", self.act)
        hp.Choice("score_bits", self.score)
        hp.Choice("prob_bits", self.prob)
        return hp


def apply_values(base: BuildConfig, values: dict) -> BuildConfig:
    """The base config with one trial's widths, as ``quant.overrides`` after the base's own."""
    cfg = copy.deepcopy(base)
    q = cfg.quant
    q.set_act_bits(int(values["act_bits"]))
    overrides = dict(q.overrides)
    for role, patterns in WEIGHT_ROLES.items():
        for pattern in patterns:
            overrides[pattern] = {**overrides.get(pattern, {}), "bits": str(values[role])}
    overrides["block*_attn"].update(score_bits=int(values["score_bits"]),
                                    prob_bits=int(values["prob_bits"]))
    q.overrides = overrides
    return cfg


def describe(values: dict) -> str:
    """A short one-line summary of a trial's widths, for progress lines and search.md."""
    return (f"attn {values['attn_bits']} ffn {values['ffn_bits']} io {values['io_bits']} "
            f"act {values['act_bits']} score {values['score_bits']} prob {values['prob_bits']}")


def forgiving_score(accuracy: float, cost: float, ref_cost: float, ff: float) -> float:
    """QKeras-style trade-off: each halving of the cost is worth ``ff`` accuracy."""
    return accuracy + ff * math.log2(ref_cost / max(cost, 1e-9))


def model_cost(model, kind: str, board, x_train) -> dict:
    """Cost figures of a (trained or untrained) model; ``cost`` is the one the score uses.

    ``lut`` (the score's cost with ``--cost lut``) is the analytical LUT estimate of the fully
    parallel design (every reuse factor 1): it follows the widths. The board-fitted estimate
    (``board_lut``, what the HLS stage reports as ``hls.estimate.total.lut``) is recorded but
    not scored: once reuse factors are raised to fit the board it sits just under the
    board's LUT budget whatever the widths (40-42k LUT on pynq-z2 for every digits trial).
    """
    from ..evaluate import model_costs
    from ..evaluate.costs import data_bits

    costs = model_costs(model, data_bits(x_train))
    out = {"model_bits": float(costs["model_bits"]), "bops": float(costs["bops"])}
    if kind == "lut":
        from ..hls.flow import board_estimate

        fit = board_estimate(model, board, x_train)
        out.update(lut=float(fit["parallel"]["lut"]), dsp=float(fit["parallel"]["dsp"]),
                   board_lut=float(fit["total"]["lut"]), board_dsp=float(fit["total"]["dsp"]),
                   fits=float(fit["fits"]), max_reuse=float(max(fit["reuse"].values(),
                                                                default=1)))
    out["cost"] = out[{"bits": "model_bits", "bops": "bops", "lut": "lut"}[kind]]
    return out


class TrialRunner:
    """Trains one configuration per trial through the build's own steps (model, train,
    compress); the data and the reference cost are made once."""

    def __init__(self, base: BuildConfig, cost: str, ff: float):
        self.base, self.cost, self.ff = base, cost, ff
        self._data = None
        self._ref_cost: float | None = None

    def data(self):
        if self._data is None:
            from ..data import load_dataset

            self._data = load_dataset(self.base.data, self.base.train.seed)
        return self._data

    def context(self, cfg: BuildConfig):
        """A build context for ``cfg`` holding the shared data and a fresh seeded model."""
        from ..pipeline import BuildContext, adopt_data, run_steps
        from ..train import seed_everything

        ctx = BuildContext(cfg, verbose=False, printer=None)
        ctx.data = self.data()
        adopt_data(cfg, ctx.data)
        seed_everything(cfg.train.seed)
        return run_steps(ctx, ["model"])

    def build(self, cfg: BuildConfig):
        """A fresh seeded model for ``cfg`` (the pipeline's model step)."""
        return self.context(cfg).model

    def ref_cost(self) -> float:
        """Cost of the base config's uniform quantization (untrained: widths decide it)."""
        if self._ref_cost is None:
            from ..boards import get_board

            model = self.build(copy.deepcopy(self.base))
            board = get_board(self.base.board)
            self._ref_cost = model_cost(model, self.cost, board, self.data().x_train)["cost"]
        return self._ref_cost

    def evaluate(self, values: dict) -> dict:
        """Train the trial's config and return its metrics (all floats, for the oracle)."""
        from ..evaluate import accuracy_on_test
        from ..pipeline import run_steps

        t0 = time.time()
        ref = self.ref_cost()
        cfg = apply_values(self.base, values)
        cfg.validate()
        ctx = run_steps(self.context(cfg), ["train", "compress"])
        data, model = ctx.data, ctx.model
        metrics = model_cost(model, self.cost, ctx.board, data.x_train)
        val = ctx.training.best_val_accuracy
        metrics.update(val_accuracy=val, test_accuracy=accuracy_on_test(model, data), ref_cost=ref,
                       score=forgiving_score(val, metrics["cost"], ref, self.ff),
                       seconds=time.time() - t0)
        return metrics


def progress_line(trial_id: str, max_trials: int, values: dict, metrics: dict,
                  who: str = "") -> str:
    """The one line printed per finished trial."""
    by = f" ({who})" if who else ""
    return (f"[search] trial {int(trial_id) + 1}/{max_trials}{by}: {describe(values)} -> "
            f"val accuracy {metrics['val_accuracy']:.4f}, test {metrics['test_accuracy']:.4f}, "
            f"cost {metrics['cost']:,.0f} ({metrics['cost'] / metrics['ref_cost']:.1%} of ref), "
            f"score {metrics['score']:.4f}")


def trial_metrics(trial) -> dict:
    return {name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics}


def _synchronized(method):
    """``keras_tuner.synchronized`` (the oracle's lock, re-entrant per thread), applied at call
    time so that importing this module does not load KerasTuner and TensorFlow before the CLI
    has checked its input."""

    @functools.wraps(method)
    def locked(self, *args):
        from keras_tuner import synchronized

        return synchronized(method)(self, *args)

    return locked


class _SearchOracleMixin:
    """Time limit, tuner bookkeeping and (on a chief) progress lines, on the oracle side, so
    they behave the same in one process and behind KerasTuner's gRPC server."""

    def setup(self, max_minutes: float | None, announce: bool,
              first: list[dict] | None = None) -> None:
        self.first = list(first or [])   # trials to run before sampling (uniform presets)
        self.deadline = time.time() + 60 * max_minutes if max_minutes else None
        self.announce = announce
        self.ran_by: dict[str, str] = {}
        self.time_limited = False

    def populate_space(self, trial_id):
        if self.deadline is not None and time.time() >= self.deadline:
            if not self.time_limited:
                print("[search] time limit reached: no new trials", flush=True)
            self.time_limited = True
            return {"status": "STOPPED", "values": None}
        if self.first:
            values = self.first.pop(0)
            hp = self.hyperparameters.copy()
            for name, value in values.items():
                hp.values[name] = value
            return {"status": "RUNNING", "values": hp.values}
        return super().populate_space(trial_id)

    def _out_of_trials(self) -> bool:
        return (len(self.trials) >= self.max_trials
                or (self.deadline is not None and time.time() >= self.deadline))

    @_synchronized
    def create_trial(self, tuner_id):
        if (tuner_id not in self.ongoing_trials and self.ongoing_trials
                and self._out_of_trials()):
            # Park this worker (IDLE: it asks again) until the last trials end, instead of
            # stopping it now: KerasTuner's chief, once it has stopped one worker, polls for
            # the end only every 20 s. The short sleep keeps the IDLE loop from spinning.
            from keras_tuner.src.engine.trial import Trial

            time.sleep(0.5)
            return Trial(self.hyperparameters.copy(), status="IDLE")
        trial = super().create_trial(tuner_id)
        if trial.status == "RUNNING":
            self.ran_by.setdefault(trial.trial_id, tuner_id)
        return trial

    @_synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        done = self.trials[trial.trial_id]
        if self.announce and done.status == "COMPLETED":
            print(progress_line(done.trial_id, self.max_trials, done.hyperparameters.values,
                                trial_metrics(done), self.ran_by.get(done.trial_id, "")),
                  flush=True)


def make_oracle(kind: str, space: SearchSpace, trials: int, seed: int,
                max_minutes: float | None, announce: bool, first: list[dict] | None = None):
    """A seeded KerasTuner oracle over ``space`` maximising ``score`` (KerasTuner treats
    seed 0 as "random", hence the +1)."""
    import keras_tuner as kt

    base = {"random": kt.oracles.RandomSearchOracle,
            "bayesian": kt.oracles.BayesianOptimizationOracle}[kind]
    cls = type(f"{base.__name__}WithLimits", (_SearchOracleMixin, base), {})
    oracle = cls(objective=kt.Objective("score", "max"), max_trials=trials, seed=seed + 1,
                 hyperparameters=space.hyperparameters(), allow_new_entries=False,
                 tune_new_entries=False, max_consecutive_failed_trials=trials)
    oracle.setup(max_minutes, announce, first)
    return oracle


class _QuantTunerMixin:
    """A tuner whose trial is "train this QuantConfig" (no hypermodel, no saved models)."""

    def __init__(self, oracle, runner: TrialRunner | None, **kwargs):
        super().__init__(oracle, **kwargs)
        self.runner = runner

    def run_trial(self, trial, *args, **kwargs) -> dict:
        values = trial.hyperparameters.values
        try:
            metrics = self.runner.evaluate(values)
        except Exception as exc:  # KerasTuner records the trial as failed and goes on
            print(f"[search] trial {int(trial.trial_id) + 1}/{self.oracle.max_trials} failed: "
                  f"{describe(values)}: {type(exc).__name__}: {exc}", flush=True)
            raise
        # run_trial never runs on a chief (it only serves), so this is the worker's line or,
        # in one process, the only one.
        print(progress_line(trial.trial_id, self.oracle.max_trials, values, metrics,
                            self.tuner_id if role() == "worker" else ""), flush=True)
        return metrics

    def save_model(self, trial_id, model, step=0):
        """Models are not kept: the winner is rebuilt from best_config.yaml."""

    def load_model(self, trial):
        raise NotImplementedError("search trials keep no models; rebuild best_config.yaml")


def make_tuner(oracle, runner: TrialRunner | None, directory: str, overwrite: bool):
    from keras_tuner.engine.base_tuner import BaseTuner

    cls = type("QuantTuner", (_QuantTunerMixin, BaseTuner), {})
    return cls(oracle, runner, directory=directory, project_name="tuner", overwrite=overwrite)


def role() -> str:
    """``single`` (no KERASTUNER_ORACLE_IP), ``chief`` or ``worker``: KerasTuner's own rule
    (a tuner id containing "chief" serves the oracle), read without importing it."""
    env = os.environ
    if "KERASTUNER_ORACLE_IP" not in env:
        return "single"
    missing = [v for v in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if v not in env]
    if missing:
        raise QTError(f"KERASTUNER_ORACLE_IP is set but {' and '.join(missing)} "
                      f"{'is' if len(missing) == 1 else 'are'} not: a distributed search "
                      "needs all three variables")
    return "chief" if "chief" in env["KERASTUNER_TUNER_ID"] else "worker"


def run_search(base: BuildConfig, space: SearchSpace, *, trials: int, cost: str, ff: float,
               oracle_kind: str, max_minutes: float | None, tuner_dir: str,
               seed_uniform: bool = True) -> dict:
    """Run (single process), serve (chief) or work for (worker) one search.

    Returns the oracle's trials as rows (chief and single process) or ``{}`` (worker).
    """
    who = role()
    oracle = make_oracle(oracle_kind, space, trials, base.train.seed, max_minutes,
                         announce=who == "chief",
                         first=space.uniform_points(base) if seed_uniform else None)
    runner = None if who == "chief" else TrialRunner(base, cost, ff)
    tuner = make_tuner(oracle, runner, tuner_dir, overwrite=who != "worker")
    tuner.search(verbose=0)
    if who == "worker":
        return {}
    return {"rows": trial_rows(oracle), "time_limited": oracle.time_limited}


def trial_rows(oracle) -> list[dict]:
    """Every trial the oracle created, in id order, with its values, metrics and status."""
    rows = []
    for trial_id in sorted(oracle.trials, key=int):
        trial = oracle.trials[trial_id]
        rows.append({"trial": trial_id, "status": str(trial.status),
                     "tuner": oracle.ran_by.get(trial_id, ""),
                     "values": dict(trial.hyperparameters.values),
                     "metrics": trial_metrics(trial), "message": trial.message})
    return rows


def best_row(rows: list[dict]) -> dict | None:
    done = [r for r in rows if r["status"] == "COMPLETED" and "score" in r["metrics"]]
    return max(done, key=lambda r: r["metrics"]["score"]) if done else None

