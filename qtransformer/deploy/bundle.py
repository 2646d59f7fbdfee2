"""What the board's host needs from a run, in ``<run>/deploy/`` (numpy files and JSON, no Keras):
the word layout, the host-side embedding table as raw integers of the IP's input type, the
vocabulary, the class names, and the test split with the Keras model's logits on it (so that
``--emulate`` can measure agreement with Keras without TensorFlow).

:func:`write_bundle` runs at build time (it needs the model); :func:`load_bundle` is numpy only
and is what the driver reads, on the board or off it. The folder plus the bitstream is all a
board needs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..axi import Layout
from ..errors import QTError

BUNDLE_DIR = "deploy"
META = "deploy.json"
VOCAB = "vocab.txt"


@dataclass
class Bundle:
    """A run's host side, as the driver uses it."""

    path: Path
    meta: dict
    layout: Layout
    embedding: np.ndarray | None      # (vocab, d_model) raw ints of the input type (tokens)
    vocab_file: Path | None

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def class_names(self) -> list[str]:
        return self.meta["class_names"]

    def check_arrays(self, x: np.ndarray) -> None:
        """An array run's inputs must be shaped like the model input (checked before the
        emulator compiles, and again by the driver for library callers)."""
        shape = tuple(self.meta["input_shape"])
        if x.shape[1:] != shape:
            raise QTError(f"inputs of shape {x.shape[1:]} given; the model takes {shape}")

    def project_dir(self) -> Path:
        """The run's HLS project (its compiled C simulation backs ``--emulate``)."""
        return (self.path / self.meta["hls_project"]).resolve()

    def test_split(self) -> tuple[list | np.ndarray, np.ndarray, np.ndarray]:
        """(inputs, labels, Keras logits) of the run's test split: texts or arrays."""
        d = self.path
        if self.kind == "tokens":
            inputs = json.loads((d / "test_texts.json").read_text(encoding="utf-8"))
        else:
            inputs = np.load(d / "test_inputs.npy")
        return inputs, np.load(d / "test_labels.npy"), np.load(d / "test_keras_logits.npy")


def write_bundle(model, data, keras_logits, layout: Layout, core: str, hls_project: Path,
                 run_dir: Path, published_run: Path | None = None) -> Path:
    """Write ``run_dir/deploy``; ``keras_logits``: the model's on the test split (the
    evaluate step's); ``core`` is the HLS top function (the IP is ``<core>_axi``),
    ``hls_project`` where the user will find the HLS project and ``published_run`` where the
    run will be (paths are stored relative to the bundle)."""
    from ..hls.convert import host_input_name
    from ..layers import pad_mask_of

    out = Path(run_dir) / BUNDLE_DIR
    out.mkdir(parents=True, exist_ok=True)
    final = Path(published_run or run_dir) / BUNDLE_DIR
    windows = (data.windows or {}).get("test")
    meta = {"kind": data.kind, "seq_len": data.seq_len, "class_names": list(data.class_names),
            "windows": windows.most if windows else 1,
            "input_shape": [int(s) for s in model.input_shape[1:]],
            "layout": layout.to_dict(), "core": core,
            "hls_project": os.path.relpath(Path(hls_project).resolve(), final.resolve())}
    name = host_input_name(model)
    if data.kind == "tokens":
        if name is None or data.tokenizer is None:
            raise QTError("a token model without its host embedding cannot be deployed")
        layer = model.get_layer(name)
        table = np.asarray(layer(np.arange(layer.vocab_size)[None]), np.float64)[0]
        raw = layout.inputs.to_raw(table)
        if not np.array_equal(layout.inputs.from_raw(raw), table):
            raise QTError("the embedding table is not on the IP input type's grid")
        np.save(out / "embedding_raw.npy", raw.astype(layout.inputs.dtype))
        data.tokenizer.save_model(str(out))   # vocab.txt
        (out / "test_texts.json").write_text(json.dumps([str(t) for t in data.texts["test"]]),
                                             encoding="utf-8")
        meta["tokenizer"] = {"kind": "bert-wordpiece", "lowercase": True, "vocab": VOCAB}
        if layout.mask is not None:   # the IP's padding mask: 0 where the token id is [PAD]
            meta["pad_id"] = int(pad_mask_of(model).pad_id)
    else:
        np.save(out / "test_inputs.npy", np.asarray(data.x_test, np.float32))
    # labels per text, Keras logits per row (a window of a long text is a row of its own)
    np.save(out / "test_labels.npy", np.asarray(windows.y if windows else data.y_test))
    np.save(out / "test_keras_logits.npy", np.asarray(keras_logits, np.float64))
    (out / META).write_text(json.dumps(meta, indent=1) + "\n")
    return out


def load_bundle(run_dir) -> Bundle:
    """The run's ``deploy/`` (``run_dir`` may also be that folder itself)."""
    run = Path(run_dir)
    path = run if (run / META).is_file() else run / BUNDLE_DIR
    if not (path / META).is_file():
        raise QTError(f"{run} is not a qtransformer run with a deploy bundle (no "
                      f"{BUNDLE_DIR}/{META}; build it with python -m qtransformer.build)")
    meta = json.loads((path / META).read_text())
    emb = path / "embedding_raw.npy"
    vocab = path / meta["tokenizer"]["vocab"] if "tokenizer" in meta else None
    return Bundle(path, meta, Layout.from_dict(meta["layout"]),
                  np.load(emb) if emb.is_file() else None, vocab)

