"""The host side of a deployed run: inputs -> words -> the IP -> logits.

For a text run: WordPiece tokens (plain Python, :mod:`.wordpiece`), the embedding lookup as raw
integers of the IP's input type, packing into AXI words (:mod:`qtransformer.axi`); for an
array run: the arrays quantized to the input type. The same code runs on the board and in
emulation; only the backend that moves the words differs. Each stage is timed, so the host's
own cost per sample is reported next to the device's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..axi import pack_inputs, unpack_raw
from ..errors import QTError
from ..windows import encode_windows, mean_scores, softmax
from .backends import MAX_TRANSFER_BYTES, Board, Emulator
from .bundle import Bundle, load_bundle
from .wordpiece import WordPiece

STAGES = ("tokenize", "embed_pack", "device", "unpack")


@dataclass
class Prediction:
    labels: np.ndarray            # class index per input
    names: list[str]              # class name per input
    logits: np.ndarray            # (rows, classes), the IP's output values, one row per call
    scores: np.ndarray            # (n, classes) softmax of the logits, a text's windows' mean
    # where long texts were cut into windows: the input each row of logits belongs to, and
    # its weight in that input's mean (its tokens)
    windows: np.ndarray | None = None
    weight: np.ndarray | None = None


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    samples: int = 0

    def per_sample_us(self) -> dict[str, float]:
        n = max(self.samples, 1)
        out = {k: 1e6 * v / n for k, v in self.seconds.items()}
        out["host"] = out["tokenize"] + out["embed_pack"] + out["unpack"]
        return {k: round(v, 2) for k, v in out.items()}


class Driver:
    """``Driver(run_dir, emulate=True).predict(texts_or_arrays)``."""

    def __init__(self, run_dir, emulate: bool = False, bitstream: Path | None = None,
                 say=print, bundle: Bundle | None = None):
        self.bundle = b = bundle or load_bundle(run_dir)
        self.layout = b.layout
        self.core = b.meta["core"]
        self.tokenizer = WordPiece.from_file(b.vocab_file) if b.kind == "tokens" else None
        if emulate:
            self.device = Emulator(b.project_dir(), self.core, say)
        else:
            bit = bitstream or b.project_dir() / "bitstream" / f"{self.core}.bit"
            self.device = Board(Path(bit), self.core)
        self.timings = Timings()

    def encode(self, inputs) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw integers ``(rows, layout.inputs.n)`` the IP takes, for texts (a row per window
        of each) or arrays, and the padding mask ``(rows, seq_len)`` (1 = token, 0 =
        ``[PAD]``) where the IP takes one."""
        rows, _, _ = self._rows(inputs)
        return self._embed(rows)

    def _rows(self, inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The IP's rows for ``inputs`` (token ids of each text's windows, or the arrays),
        each row's input and weight in that input's mean (its tokens)."""
        if self.tokenizer is None:
            x = np.asarray(inputs, np.float64)
            self.bundle.check_arrays(x)
            return x, np.arange(len(x)), np.ones(len(x))
        if isinstance(inputs, str) or not all(isinstance(t, str) for t in inputs):
            raise QTError("a text run takes a list of texts")
        t0 = time.perf_counter()
        tok, meta = self.tokenizer, self.bundle.meta
        ids, doc, weight = encode_windows([tok.text_ids(t) for t in inputs], meta["seq_len"],
                                          meta.get("windows", 1), tok.cls, tok.sep, tok.pad)
        self.timings.seconds["tokenize"] += time.perf_counter() - t0
        return ids.astype(np.int64), doc, weight

    def _embed(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        b, port = self.bundle, self.layout.inputs
        if self.tokenizer is None:
            return port.to_raw(rows.reshape(len(rows), -1)), None
        mask = None if self.layout.mask is None else \
            (rows != b.meta.get("pad_id", 0)).astype(np.int64)
        return b.embedding[rows].reshape(len(rows), -1), mask

    def predict(self, inputs, batch: int = 256) -> Prediction:
        """Labels and scores for ``inputs`` (texts, or arrays shaped like the model input), in
        transfers of up to ``batch`` rows (fewer where the DMA's length register ends); a
        text longer than the run's sequence is one row per window (the run's ``windows``),
        its scores their token-weighted mean. Each stage's time adds to :attr:`timings`."""
        n = len(inputs)
        rows, doc, weight = self._rows(inputs)
        lout = self.layout.outputs
        per_transfer = max(1, min(batch, MAX_TRANSFER_BYTES //
                                  (8 * max(self.layout.words_in, lout.words))))
        logits = np.zeros((len(rows), lout.n))
        s = self.timings.seconds
        for start in range(0, len(rows), per_transfer):
            chunk = rows[start:start + per_transfer]
            t0 = time.perf_counter()
            raw, mask = self._embed(chunk)
            words = pack_inputs(self.layout, raw, mask)
            t1 = time.perf_counter()
            out = self.device.run(words, len(chunk), len(chunk) * lout.words)
            t2 = time.perf_counter()
            logits[start:start + len(chunk)] = lout.from_raw(unpack_raw(lout, out, len(chunk)))
            t3 = time.perf_counter()
            s["embed_pack"] += t1 - t0
            s["device"] += t2 - t1
            s["unpack"] += t3 - t2
        self.timings.samples += n
        scores = mean_scores(softmax(logits), doc, weight, n)
        labels = scores.argmax(-1)
        names = self.bundle.class_names
        cut = len(rows) != n
        return Prediction(labels, [names[i] for i in labels], logits, scores,
                          doc if cut else None, weight if cut else None)

    def evaluate_test_split(self, batch: int = 256) -> dict:
        """The run's stored test split through the device, against the Keras logits stored
        with it (one row per IP call): the check that the IP (or its emulation) computes what
        Python does; accuracy per text."""
        inputs, labels, keras = self.bundle.test_split()
        pred = self.predict(inputs, batch)
        want = softmax(keras) if pred.windows is None else \
            mean_scores(softmax(keras), pred.windows, pred.weight, len(labels))
        lsb = 2.0 ** -self.layout.outputs.frac
        return {"n": len(labels), "rows": len(keras),
                "agreement": float(np.mean(pred.logits.argmax(-1) == keras.argmax(-1))),
                "accuracy": float(np.mean(pred.labels == labels)),
                "keras_accuracy": float(np.mean(want.argmax(-1) == labels)),
                "max_error_lsb": float(np.abs(pred.logits - keras).max() / lsb)}
