"""Plain dataclass configs for every stage, with YAML input/output.

A run writes its resolved :class:`BuildConfig` as ``config.yaml`` next to its outputs;
``--config`` reads such a file back, so a run can be reproduced exactly.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from .errors import QTError
from .windows import LIMIT as WINDOW_LIMIT

MIN_BITS, MAX_BITS = 2, 16
MIN_SEQ_LEN, MAX_SEQ_LEN = 3, 512    # [CLS] + [SEP] + one token; BERT's longest
# Named weight quantizations and their width in bits (quantize.py registers one preset
# per name; integer widths and po2-N are parsed).
NAMED_WEIGHTS = {"float": 32, "binary": 1, "binary-noscale": 1, "stochastic-binary": 1,
                 "ternary": 2, "stochastic-ternary": 2}
BIAS_KINDS = ("bits", "po2")          # quantized_bits | quantized_po2 biases
FFN_ACTS = ("relu", "hardtanh")       # FFN hidden activation: quantized_relu | quantized_tanh
POOLINGS = ("mean", "cls")            # sequence pooling: GlobalAveragePooling1D | ClsPooling
IO_FORMS = ("auto", "parallel", "stream")   # HLS io type: hls4ml io_parallel / io_stream


def parse_bits(value) -> str:
    """Normalise a weight quantization: a name in :data:`NAMED_WEIGHTS`, an integer width
    2..16 (``quantized_bits``) or ``po2-N`` (power-of-two weights, N = 2..8 bits)."""
    text = str(value).strip().lower()
    if text in NAMED_WEIGHTS:
        return text
    if text == "po2":
        return "po2-4"
    if text.startswith("po2-") and text[4:].isdigit() and 2 <= int(text[4:]) <= 8:
        return text
    try:
        bits = int(text)
    except ValueError:
        bits = None
    if bits is None or not MIN_BITS <= bits <= MAX_BITS:
        raise QTError(f"invalid bits {value!r}: expected {', '.join(NAMED_WEIGHTS)}, "
                      f"po2-N (N 2..8) or an integer from {MIN_BITS} to {MAX_BITS}"
                      + (" (1-bit weights: binary or binary-noscale)" if text == "1" else ""))
    return str(bits)


def _check_width(name: str, value: int, low: int = MIN_BITS, high: int = 24) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise QTError(f"invalid {name} {value!r}: expected an integer from {low} to {high}")


@dataclass
class DataConfig:
    """Where the examples come from and how they become token sequences."""

    dataset: str = "digits"          # built-in name or a TSV/CSV path
    val_file: str | None = None      # optional separate validation file
    test_file: str | None = None     # optional separate test file
    text_column: str | None = None   # name or 0-based index; None = detect
    label_column: str | None = None  # name or 0-based index; None = detect
    header: str = "auto"             # auto | yes | no
    seq_len: int | None = None       # None: 8 rows for digits; text: from the data
    # A text longer than seq_len: cut into up to this many windows (qtransformer.windows), 1 =
    # truncated at seq_len; None: windows.MAX_WINDOWS, or 1 with a teacher
    windows: int | None = None
    max_seq_len: int | None = None   # upper bound of the length the data picks (a teacher's)
    # WordPiece vocabulary trained on the training split: at most this many entries, each seen
    # twice or more, so a small set gets what it has (SMS: 6,357). The table lives on the host,
    # so its size costs no LUT. 30,000 rather than 8,000: BBC News macro-F1 96.05 -> 96.88%,
    # SST-2 79.12 -> 79.56% (one seed; docs/benchmarks.md, text sets).
    vocab_size: int = 30000
    vocab_file: str | None = None    # or a user vocab.txt (BERT WordPiece)
    val_fraction: float = 0.15       # 15%: early stopping on small sets is less noisy
    test_fraction: float = 0.2
    max_examples: int | None = None  # cap on training examples (quick runs)

    def validate(self) -> None:
        if self.seq_len is not None and (
                isinstance(self.seq_len, bool) or not isinstance(self.seq_len, int)
                or not MIN_SEQ_LEN <= self.seq_len <= MAX_SEQ_LEN):
            raise QTError(f"invalid seq_len {self.seq_len!r}: expected an integer from "
                          f"{MIN_SEQ_LEN} ([CLS] + [SEP] + one token) to {MAX_SEQ_LEN}")
        if self.windows is not None and (
                isinstance(self.windows, bool) or not isinstance(self.windows, int)
                or not 1 <= self.windows <= WINDOW_LIMIT):
            raise QTError(f"invalid windows {self.windows!r}: expected an integer from 1 "
                          f"(truncate at the sequence length) to {WINDOW_LIMIT}")


@dataclass
class ModelConfig:
    """Encoder shape. ``seq_len``/``classes``/``vocab_size`` are filled from the data."""

    d_model: int = 32
    heads: int = 4
    ff_dim: int = 64
    layers: int = 2
    pooling: str = "mean"            # mean | cls
    dropout: float = 0.1
    drop_attention: list[int] = field(default_factory=list)  # blocks without attention
    drop_mlp: list[int] = field(default_factory=list)        # blocks without FFN
    token_keep: int = 0              # token pruning: tokens kept after token_block's attention
    token_block: int = 0             # (0 = no token pruning)
    # block-circulant weights (--circulant B): block size of the attention projections and
    # the FFN, 1 = dense; circulant_overrides (layer-name glob -> block, in order, the glob
    # syntax of quant.overrides) set single layers, the classifier and patch_proj included
    circulant: int = 1
    circulant_overrides: dict[str, int] = field(default_factory=dict)
    # Neural-ODE encoder (--ode-steps N): each of the ``layers`` blocks is one weight-shared
    # block iterated as N Euler steps (layers/ode.py); None = stacked blocks
    ode_steps: int | None = None
    # token models: [PAD] is masked (attention keys and mean pooling), in Keras and in the IP,
    # whose second input is then the (seq,) mask; False: padding is attended and averaged
    mask_padding: bool = True
    seq_len: int | None = None
    classes: int | None = None
    vocab_size: int | None = None    # None: patch input (digits), else token ids

    def validate(self) -> None:
        for name in ("d_model", "heads", "ff_dim", "layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise QTError(f"invalid model {name} {value!r}: expected a positive integer")
        if self.d_model % self.heads:
            raise QTError(f"d_model={self.d_model} must be divisible by heads={self.heads}")
        if self.pooling not in POOLINGS:
            raise QTError(f"invalid pooling {self.pooling!r}: expected {' or '.join(POOLINGS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise QTError(f"invalid dropout {self.dropout!r}: expected 0 <= dropout < 1")
        if not isinstance(self.mask_padding, bool):   # YAML "false" (quoted) is a true string
            raise QTError(f"invalid model mask_padding {self.mask_padding!r}: expected true or "
                          "false")
        if self.token_keep:
            self._validate_token_pruning()
        self._validate_circulant()
        self._validate_ode()

    def _validate_ode(self) -> None:
        """Step count, and what an ODE encoder does not combine with (one line each)."""
        from .layers.ode import check_steps

        if self.ode_steps is None:
            return
        try:
            check_steps(self.ode_steps)
        except ValueError as e:
            raise QTError(str(e)) from None
        if self.uses_circulant():
            raise QTError("--ode-steps with --circulant is not supported: the ODE block's "
                          "weights are dense")
        if self.drop_attention or self.drop_mlp:
            raise QTError("an ODE encoder has no modules to drop; evaluate it at fewer steps "
                          "instead (qtransformer.layers.ode.with_steps)")

    def _validate_circulant(self) -> None:
        """Block sizes, and the encoder's shapes they must divide (known before the data;
        the classifier and patch projection are checked when the model is built)."""
        from .layers.circulant import BLOCK_SIZES, check_block

        for where, block in [("--circulant", self.circulant),
                             *((f"circulant_overrides {k!r}", v)
                               for k, v in self.circulant_overrides.items())]:
            if block != 1 and block not in BLOCK_SIZES:
                raise QTError(f"invalid {where} {block!r}: expected 1 (dense) or a power of "
                              "two in 2..64")
        for i in range(self.layers):
            for name, n_in, units in ((f"block{i}_attn", self.d_model, self.d_model),
                                      (f"block{i}_ffn1", self.d_model, self.ff_dim),
                                      (f"block{i}_ffn2", self.ff_dim, self.d_model)):
                if self.circulant_for(name) > 1:
                    check_block(self.circulant_for(name), n_in, units, name)

    def circulant_for(self, name: str) -> int:
        """The circulant block of layer ``name`` (1 = dense): ``circulant`` for the attention
        projections and the FFN, then every matching ``circulant_overrides`` glob in order."""
        block = self.circulant if fnmatch.fnmatchcase(name, "block*_attn") or \
            fnmatch.fnmatchcase(name, "block*_ffn[12]") else 1
        for pattern, value in self.circulant_overrides.items():
            if fnmatch.fnmatchcase(name, pattern):
                block = value
        return block

    def uses_circulant(self) -> bool:
        return self.circulant != 1 or any(v != 1 for v in self.circulant_overrides.values())

    def _validate_token_pruning(self) -> None:
        if not isinstance(self.token_keep, int) or self.token_keep < 1 or \
                (self.seq_len and self.token_keep >= self.seq_len):
            raise QTError(f"invalid token_keep {self.token_keep!r}: expected 1 <= keep < "
                          f"seq_len ({self.seq_len})")
        if not 0 <= self.token_block < self.layers or self.token_block in self.drop_attention:
            raise QTError(f"invalid token_block {self.token_block}: expected a block with "
                          f"attention in 0..{self.layers - 1}")
        if self.pooling != "mean":
            raise QTError("token pruning needs mean pooling (CLS pooling reads token 0, "
                          "which pruning may remove)")
        if self.ode_steps is not None:
            raise QTError("token pruning is not offered on an ODE encoder (its weight-shared "
                          "block runs every step on the same tokens)")


@dataclass
class QuantConfig:
    """Bit widths. ``bits`` is the weight width; activations/scores/probabilities have their own."""

    bits: str = "8"
    act_bits: int = 8
    act_int: int = 3
    bias_bits: int = 8
    bias_int: int = 3
    score_bits: int = 10
    score_int: int = 5
    prob_bits: int = 9
    exp_bits: int = 12
    bias: str = "bits"               # bits (quantized_bits) | po2 (quantized_po2, same width)
    ffn_act: str = "relu"            # relu | hardtanh (quantized_tanh: clip to [-1, 1))
    overrides: dict[str, dict] = field(default_factory=dict)  # layer-name glob -> changes

    def set_act_bits(self, bits: int) -> None:
        """Activation width ``bits`` with >= 2 fractional bits kept: with the default 3 integer
        bits a 4-bit activation would have none, and such models only learned chance accuracy
        (the rule of the search and the sweep)."""
        self.act_bits, self.act_int = bits, min(self.act_int, max(0, bits - 3))

    def validate(self) -> None:
        self._validate_widths()
        known = {f.name for f in dataclasses.fields(self)} - {"overrides"}
        for pattern, changes in self.overrides.items():
            if not isinstance(changes, dict) or set(changes) - known:
                raise QTError(f"quant override {pattern!r}: expected a mapping of "
                              f"{', '.join(sorted(known))}")
            patched = dataclasses.replace(self, overrides={}, **changes)
            patched._validate_widths()
            self.overrides[pattern] = {**changes, **({"bits": patched.bits}
                                                     if "bits" in changes else {})}

    def _validate_widths(self) -> None:
        self.bits = parse_bits(self.bits)
        for name in ("act_bits", "bias_bits", "score_bits", "prob_bits", "exp_bits"):
            _check_width(name, getattr(self, name))
        for name, width in (("act_int", self.act_bits), ("bias_int", self.bias_bits),
                            ("score_int", self.score_bits)):
            _check_width(name, getattr(self, name), 0, width - 1)
        if self.bias not in BIAS_KINDS:
            raise QTError(f"invalid bias quantizer {self.bias!r}; known: {', '.join(BIAS_KINDS)}")
        if self.ffn_act not in FFN_ACTS:
            raise QTError(f"invalid ffn_act {self.ffn_act!r}; known: {', '.join(FFN_ACTS)}")
        if self.bias == "po2" and not 3 <= self.bias_bits <= 6:
            # Wider po2 codes reach exponents far below any fixed-point grid the HLS uses.
            raise QTError(f"invalid bias_bits {self.bias_bits} for po2 biases: expected 3..6 "
                          "(e.g. --bias-bits 5)")

    def weight_family(self) -> tuple[str, int]:
        """(preset family, width): ``("int", 4)``, ``("ternary", 2)``, ``("float", 32)``..."""
        if self.bits in NAMED_WEIGHTS:
            return self.bits, NAMED_WEIGHTS[self.bits]
        if self.bits.startswith("po2-"):
            return "po2", int(self.bits[4:])
        return "int", int(self.bits)

    def has_zero_weight(self) -> bool:
        """Whether the weight quantizer has a zero level: binary and po2 codes do not, so a
        pruned weight would come back as +-alpha / +-2^k and pruning would remove nothing."""
        return self.weight_family()[0] not in ("binary", "binary-noscale", "stochastic-binary",
                                               "po2")

    def for_layer(self, name: str) -> QuantConfig:
        """This config with every ``overrides`` entry whose glob matches ``name`` applied
        (in order), e.g. ``{"block*_attn": {"bits": "4"}, "classifier": {"bits": "8"}}``."""
        out = self
        for pattern, changes in self.overrides.items():
            if fnmatch.fnmatchcase(name, pattern):
                out = dataclasses.replace(out, **changes)
        return out


@dataclass
class TrainConfig:
    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 2e-3
    # Early stopping: epochs without a better validation accuracy. None: the epochs that
    # train on ~200,000 tokens (train.auto_patience), 3..20: digits 20, text sets 3; a fixed
    # 20 spent most of a text run waiting (20 epochs of SST-2's 60k phrases: hours).
    patience: int | None = None
    # "constant", or "cosine": the rate falls per step along half a cosine to 0 at the last of
    # ``epochs`` (early stopping may end sooner), so a slow final phase settles the ternary
    # weights instead of flipping them between levels.
    lr_schedule: str = "constant"
    seed: int = 0
    distill_alpha: float = 0.5        # weight of the label loss when a teacher is given
    distill_temperature: float = 2.0
    # What the student learns from the teacher (--teacher): "logits" always; "embedding"
    # (token/position tables from the teacher's, PCA), "hidden", "attention" (intermediate
    # layers) need the teacher's vocabulary, which the build then uses.
    distill: list[str] = field(default_factory=lambda: ["logits"])
    distill_hidden_weight: float = 1.0
    distill_attention_weight: float = 1.0
    distill_augment: float = 0.0      # transfer set: augmented texts labelled by the teacher,
                                      # as a multiple of the training set size (0: none)

    def validate(self) -> None:
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if name == "patience" and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise QTError(f"invalid {name} {value!r}: expected a positive integer")
        if not self.learning_rate > 0:
            raise QTError(f"invalid learning_rate {self.learning_rate!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise QTError(f"invalid lr_schedule {self.lr_schedule!r}: expected one of "
                          f"{', '.join(LR_SCHEDULES)}")
        if not 0.0 <= self.distill_alpha <= 1.0 or not self.distill_temperature > 0:
            raise QTError("distill_alpha must lie in [0, 1] and distill_temperature be > 0")
        unknown = [p for p in self.distill if p not in DISTILL_PARTS]
        if unknown or "logits" not in self.distill:
            raise QTError(f"invalid distill {','.join(self.distill)!r}: a comma-separated list "
                          f"of {', '.join(DISTILL_PARTS)} that includes logits")
        if min(self.distill_hidden_weight, self.distill_attention_weight) < 0:
            raise QTError("distill_hidden_weight and distill_attention_weight must be >= 0")
        if not 0 <= self.distill_augment <= 20:
            raise QTError(f"invalid distill_augment {self.distill_augment!r}: a multiple of the "
                          "training set between 0 and 20")

    def intermediate_distillation(self) -> bool:
        return bool({"hidden", "attention"} & set(self.distill))


LR_SCHEDULES = ("constant", "cosine")
DISTILL_PARTS = ("logits", "embedding", "hidden", "attention")
LAYER_DROP_MODES = ("attention", "mlp", "block", "joint")


@dataclass
class PruneConfig:
    """Compression after QAT: weight pruning (TF-MOT), token pruning or layer drop. The
    method's name and its own needs are checked against the method registry
    (``compress.methods.check_config``), which the CLIs call after ``BuildConfig.validate``."""

    method: str | None = None        # magnitude | block | token | layer-drop
    sparsity: float = 0.5            # weight methods: final fraction of zero weights
    block: list[int] = field(default_factory=lambda: [4, 4])  # block method: rows, cols
    epochs: int = 10                 # fine-tuning epochs after pruning / dropping
    drop: str = "attention"          # layer-drop: attention | mlp | block | joint
    drop_count: int = 1              # layer-drop: number of modules to drop
    keep_tokens: float = 0.5         # token: fraction (< 1) or number of tokens kept
    token_block: int = 0             # token: prune after this block's attention
    skip: list[str] = field(default_factory=lambda: ["classifier", "patch_proj"])

    def validate(self) -> None:
        if self.method is not None:
            from .compress.methods import get_method  # the method registry (no TensorFlow)

            get_method(self.method)
        if not 0.0 < self.sparsity < 1.0:
            raise QTError(f"invalid sparsity {self.sparsity!r}: expected 0 < sparsity < 1")
        if len(self.block) != 2 or min(self.block) < 1:
            raise QTError(f"invalid block {self.block!r}: expected two positive sizes")
        if self.drop not in LAYER_DROP_MODES:
            raise QTError(f"invalid layer-drop mode {self.drop!r}; known: "
                          f"{', '.join(LAYER_DROP_MODES)}")
        if self.drop_count < 1 or self.epochs < 0:
            raise QTError("drop_count must be >= 1 and prune epochs >= 0")
        if not self.keep_tokens > 0 or (self.keep_tokens >= 1 and self.keep_tokens % 1):
            raise QTError(f"invalid keep_tokens {self.keep_tokens!r}: a fraction in (0, 1) or "
                          "a whole number of tokens")


BACKENDS = ("auto", "Vitis", "Vivado")


def resolve_backend(backend: str) -> str:
    """The hls4ml backend to generate for: as asked, or with ``auto`` the tool that will run
    the project (``make synth`` prefers vitis_hls): Vivado only where ``vivado_hls`` is on
    PATH and ``vitis_hls`` is not (Vivado HLS <= 2020.1), else Vitis (current tools; its
    kernels and pragmas are the ones Vitis HLS expects)."""
    import shutil

    if backend != "auto":
        return backend
    if shutil.which("vivado_hls") and not shutil.which("vitis_hls"):
        return "Vivado"
    return "Vitis"


@dataclass
class HlsConfig:
    """The HLS stage: convert, compile, co-verify (bit for bit) and write tb_data."""

    enabled: bool = True
    output: str | None = None        # None: hls/<run> (or <--output>/hls when --output given)
    backend: str = "auto"            # auto | Vivado | Vitis (auto: resolve_backend)
    io_type: str = "auto"            # auto | parallel | stream (auto: the form that fits the
    #                                  board with the lower latency)
    min_agreement: float = 0.995     # build fails below this argmax agreement with Keras
    tb_examples: int = 100           # test examples written as tb_data for `make csim`
    clock_mhz: float | None = None   # None: the board's default clock

    def validate(self) -> None:
        if self.io_type not in IO_FORMS:
            raise QTError(f"invalid io type {self.io_type!r}: expected {', '.join(IO_FORMS)}")
        if self.backend not in BACKENDS:
            raise QTError(f"invalid HLS backend {self.backend!r}: expected "
                          f"{', '.join(BACKENDS)}")
        if not 0.0 <= self.min_agreement <= 1.0:
            raise QTError(f"invalid min_agreement {self.min_agreement!r}: expected 0..1")
        if self.tb_examples < 1 or (self.clock_mhz is not None and self.clock_mhz <= 0):
            raise QTError("tb_examples must be >= 1 and clock_mhz > 0")


@dataclass
class BuildConfig:
    board: str = "pynq-z2"
    output: str | None = None        # None: models/<run name>
    force: bool = False
    teacher: str | None = None       # fine-tuned teacher run directory -> distillation
    embedding_from: str | None = None  # BERT checkpoint dir: start token/position tables (PCA)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    quant: QuantConfig = field(default_factory=QuantConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    hls: HlsConfig = field(default_factory=HlsConfig)

    def validate(self) -> None:
        self.data.validate()
        self.hls.validate()
        self.prune.validate()
        self.model.validate()
        self.quant.validate()
        self.train.validate()

    def to_dict(self) -> dict:
        return asdict(self)

    def to_yaml(self, path: Path) -> None:
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "quant": QuantConfig, "train": TrainConfig,
             "prune": PruneConfig, "hls": HlsConfig}


def _section(cls, values: dict, where: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise QTError(f"unknown key(s) in {where}: {', '.join(unknown)}; "
                      f"known: {', '.join(sorted(known))}")
    return cls(**values)


def config_from_dict(raw: dict, where: str = "config") -> BuildConfig:
    """Build a BuildConfig from a (YAML) mapping, rejecting unknown keys by name."""
    if not isinstance(raw, dict):
        raise QTError(f"{where} must be a mapping of sections (data, model, quant, train)")
    top = {k: v for k, v in raw.items() if k not in _SECTIONS}
    cfg = _section(BuildConfig, top, where)
    for name, cls in _SECTIONS.items():
        values = raw.get(name) or {}
        if not isinstance(values, dict):
            raise QTError(f"{where}: section {name!r} must be a mapping")
        setattr(cfg, name, _section(cls, values, f"{where} section {name!r}"))
    return cfg


def load_config(path: str | Path) -> BuildConfig:
    path = Path(path)
    if not path.is_file():
        raise QTError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise QTError(f"cannot parse config {path}: {str(exc).splitlines()[0]}") from None
    return config_from_dict(raw, str(path))
