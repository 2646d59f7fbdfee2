"""Embedding-layer distillation in closed form: the student's token (and position) table
starts as the teacher's, projected onto its top ``d_model`` principal components.

TinyBERT trains the student's embeddings so that a linear map of them matches the teacher's
(``min ||E_s W - E_t||``); for a student table of width ``d_model`` the optimum is the teacher's
rank-``d_model`` PCA, so we take it directly instead of spending epochs of teacher passes on it.
The board-sized student's own table is learnt from 60k SST-2 phrases only; the teacher's
carries what pre-training on large corpora learnt about each word, which the student then
fine-tunes with its own quantizers. Needs the teacher's vocabulary (the same token ids).

``--embedding-from`` does the same from a pre-trained checkpoint with no teacher at all (no
fine-tuning, no teacher passes): the tables are on the host, so the board pays nothing for them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from ..errors import QTError

TARGET_STD = 0.5   # of the projected table: well inside the 8-bit activation grid's range


def pca_basis(table: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean, the top ``dims`` principal directions ``(hidden, dims)`` of the rows of
    ``table``, and the fraction of the variance they keep."""
    if dims > table.shape[1]:
        raise QTError(f"student width {dims} exceeds the source table's width {table.shape[1]}")
    mean = table.mean(0)
    cov = np.cov(table - mean, rowvar=False)
    values, vectors = np.linalg.eigh(cov)           # ascending
    top = np.argsort(values)[::-1][:dims]
    basis = vectors[:, top]
    basis *= np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(dims)])  # fixed signs
    return mean, basis, float(values[top].sum() / values.sum())


def transfer_embeddings(student: tf.keras.Model, teacher: tf.keras.Model) -> dict:
    """Set the student's ``embedding`` (and ``position``, where the teacher's table is long
    enough) to the teacher's tables in the teacher's principal basis; returns what it did."""
    return set_tables(student, teacher.get_layer("embedding").get_weights()[0],
                      teacher.get_layer("position").get_weights()[0], "the teacher's")


def checkpoint_tables(directory: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Token and position tables of a local BERT checkpoint directory, as the encoder
    import reads them."""
    from ..bert.checkpoint import embedding_tables, read_weights

    try:
        return embedding_tables(read_weights(Path(directory)))
    except KeyError as exc:
        raise QTError(f"{directory}: no {exc.args[0]} tensor (not a BERT checkpoint)") from None


def set_tables(student: tf.keras.Model, tokens: np.ndarray, positions: np.ndarray,
               source: str) -> dict:
    """Student token table = ``tokens`` projected onto their top ``d_model`` principal
    directions, scaled to :data:`TARGET_STD`; the position table the same way where
    ``positions`` is long enough. Returns what it did."""
    tokens = tokens.astype(np.float64)
    s_emb = student.get_layer("embedding")
    vocab, dims = s_emb.get_weights()[0].shape
    if vocab != tokens.shape[0]:
        raise QTError(f"the student's vocabulary has {vocab} entries, {source} "
                      f"{tokens.shape[0]}: the embedding tables need {source} vocab.txt")
    mean, basis, kept = pca_basis(tokens, dims)
    projected = (tokens - mean) @ basis
    scale = TARGET_STD / projected.std()
    s_emb.set_weights([(projected * scale).astype(np.float32)])
    info = {"variance_kept": kept, "scale": float(scale), "position": False}
    s_pos = student.get_layer("position").get_weights()[0]
    t_pos = positions.astype(np.float64)
    if t_pos.shape[0] >= s_pos.shape[0]:
        pos = (t_pos[: s_pos.shape[0]] - t_pos.mean(0)) @ basis * scale
        student.get_layer("position").set_weights([pos.astype(np.float32)])
        info["position"] = True
    return info
