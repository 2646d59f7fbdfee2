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
from .backends import MAX_TRANSFER_BYTES, Board, Emulator
from .bundle import Bundle, load_bundle
from .wordpiece import WordPiece

STAGES = ("tokenize", "embed_pack", "device", "unpack")


@dataclass
class Prediction:
    labels: np.ndarray            # class index per input
    names: list[str]              # class name per input
    logits: np.ndarray            # (n, classes), the IP's output values
    scores: np.ndarray            # softmax of the logits (host side)


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
        """Raw integers ``(n, layout.inputs.n)`` the IP takes, for texts or arrays, and the
        padding mask ``(n, seq_len)`` (1 = token, 0 = ``[PAD]``) where the IP takes one."""
        b, port = self.bundle, self.layout.inputs
        if self.tokenizer is not None:
            if isinstance(inputs, str) or not all(isinstance(t, str) for t in inputs):
                raise QTError("a text run takes a list of texts")
            t0 = time.perf_counter()
            ids = np.asarray(self.tokenizer.encode(list(inputs), b.meta["seq_len"]), np.int64)
            self.timings.seconds["tokenize"] += time.perf_counter() - t0
            mask = None if self.layout.mask is None else \
                (ids != b.meta.get("pad_id", 0)).astype(np.int64)
            return b.embedding[ids].reshape(len(ids), -1), mask
        x = np.asarray(inputs, np.float64)
        b.check_arrays(x)
        return port.to_raw(x.reshape(len(x), -1)), None

    def predict(self, inputs, batch: int = 256) -> Prediction:
        """Labels and scores for ``inputs`` (texts, or arrays shaped like the model input), in
        transfers of up to ``batch`` samples (fewer where the DMA's length register ends);
        each stage's time adds to :attr:`timings`."""
        n = len(inputs)
        lout = self.layout.outputs
        per_transfer = max(1, min(batch, MAX_TRANSFER_BYTES //
                                  (8 * max(self.layout.words_in, lout.words))))
        logits = np.zeros((n, lout.n))
        for start in range(0, n, per_transfer):
            chunk = inputs[start:start + per_transfer]
            s = self.timings.seconds
            tokenized = s["tokenize"]
            t0 = time.perf_counter()
            raw, mask = self.encode(chunk)
            words = pack_inputs(self.layout, raw, mask)
            t1 = time.perf_counter()
            out = self.device.run(words, len(chunk), len(chunk) * lout.words)
            t2 = time.perf_counter()
            logits[start:start + len(chunk)] = lout.from_raw(unpack_raw(lout, out, len(chunk)))
            t3 = time.perf_counter()
            s["embed_pack"] += t1 - t0 - (s["tokenize"] - tokenized)
            s["device"] += t2 - t1
            s["unpack"] += t3 - t2
        self.timings.samples += n
        labels = logits.argmax(-1)
        z = np.exp(logits - logits.max(-1, keepdims=True))
        names = self.bundle.class_names
        return Prediction(labels, [names[i] for i in labels], logits, z / z.sum(-1, keepdims=True))

    def evaluate_test_split(self, batch: int = 256) -> dict:
        """The run's stored test split through the device, against the Keras logits stored
        with it: the check that the IP (or its emulation) computes what Python does."""
        inputs, labels, keras = self.bundle.test_split()
        pred = self.predict(inputs, batch)
        lsb = 2.0 ** -self.layout.outputs.frac
        return {"n": len(labels),
                "agreement": float(np.mean(pred.labels == keras.argmax(-1))),
                "accuracy": float(np.mean(pred.labels == labels)),
                "keras_accuracy": float(np.mean(keras.argmax(-1) == labels)),
                "max_error_lsb": float(np.abs(pred.logits - keras).max() / lsb)}
