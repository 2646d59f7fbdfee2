"""Read a Hugging Face BERT checkpoint directory, offline, with errors that name the problem.

Accepted: ``config.json`` + one of ``model.safetensors`` (read with NumPy, no torch),
``pytorch_model.bin`` (needs torch) or ``tf_model.h5`` (h5py), + ``vocab.txt``. Weights come
back under canonical BertModel names (``encoder.layer.0.attention.self.query.weight``...),
with ``bert.`` prefixes, old ``gamma``/``beta`` names and TF's kernel layout normalised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import QTError, read_json_object

SUPPORTED_ACTS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu")


@dataclass(frozen=True)
class BertSpec:
    """The fields of config.json that decide the architecture."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: str
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pad_token_id: int = 0


def read_spec(directory: Path) -> BertSpec:
    path = directory / "config.json"
    if not path.is_file():
        raise QTError(f"{directory}: no config.json (expected a Hugging Face BERT checkpoint "
                      "directory)")
    raw = read_json_object(path)
    model_type = raw.get("model_type", "bert")
    if model_type != "bert":
        raise QTError(f"{path}: model_type {model_type!r} is not supported (field model_type; "
                      "only 'bert')")
    checks = {"position_embedding_type": ("absolute",), "hidden_act": SUPPORTED_ACTS}
    for key, allowed in checks.items():
        value = raw.get(key, allowed[0])
        if value not in allowed:
            raise QTError(f"{path}: {key} {value!r} is not supported (field {key}; supported: "
                          f"{', '.join(allowed)})")
    if raw.get("is_decoder") or raw.get("add_cross_attention"):
        raise QTError(f"{path}: decoder / cross-attention BERT is not supported (field "
                      "is_decoder)")
    try:
        spec = BertSpec(
            vocab_size=int(raw["vocab_size"]), hidden_size=int(raw["hidden_size"]),
            num_hidden_layers=int(raw["num_hidden_layers"]),
            num_attention_heads=int(raw["num_attention_heads"]),
            intermediate_size=int(raw["intermediate_size"]),
            hidden_act=raw.get("hidden_act", "gelu"),
            max_position_embeddings=int(raw.get("max_position_embeddings", 512)),
            type_vocab_size=int(raw.get("type_vocab_size", 2)),
            layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
            pad_token_id=int(raw.get("pad_token_id", 0) or 0))
    except KeyError as exc:
        raise QTError(f"{path}: missing field {exc.args[0]}") from None
    except (TypeError, ValueError) as exc:
        raise QTError(f"{path}: bad field value ({exc})") from None
    if spec.hidden_size % spec.num_attention_heads:
        raise QTError(f"{path}: hidden_size {spec.hidden_size} not divisible by "
                      f"num_attention_heads {spec.num_attention_heads}")
    return spec


def _canonical(name: str) -> str:
    name = re.sub(r"^(bert|model)\.", "", name)
    name = name.replace(".gamma", ".weight").replace(".beta", ".bias")
    return name


def _load_safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise QTError(f"{path}: corrupt safetensors file ({exc})") from None


def _load_torch_bin(path: Path) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise QTError(f"{path}: reading pytorch_model.bin needs torch (pip install torch), or "
                      "convert the checkpoint to model.safetensors") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged pickle/zip
        raise QTError(f"{path}: corrupt PyTorch checkpoint ({type(exc).__name__})") from None
    return {k: v.float().numpy() for k, v in state.items()}


def _tf_name(name: str) -> str:
    """``tf_bert_model/bert/encoder/layer_._0/attention/self/query/kernel:0`` -> canonical."""
    name = re.sub(r"^.*?\bbert/", "", name.split(":")[0])
    name = name.replace("layer_._", "layer.").replace("/", ".")
    return re.sub(r"\.(kernel|embeddings)$", ".weight", name)


def _load_tf_h5(path: Path) -> dict[str, np.ndarray]:
    import h5py

    out: dict[str, np.ndarray] = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and "/bert/" in f"/{name}":
            value = np.asarray(obj)
            # Keras kernels are (in, out); torch Linear weights are (out, in).
            out[_tf_name(name)] = value.T if name.split(":")[0].endswith("kernel") else value

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except OSError as exc:
        raise QTError(f"{path}: corrupt HDF5 file ({exc})") from None
    return out


LOADERS = (("model.safetensors", _load_safetensors), ("pytorch_model.bin", _load_torch_bin),
           ("tf_model.h5", _load_tf_h5))


def weights_file(directory: Path) -> tuple[Path, object]:
    """The checkpoint's weights file and its loader, in :data:`LOADERS` order."""
    for filename, loader in LOADERS:
        if (directory / filename).is_file():
            return directory / filename, loader
    raise QTError(f"{directory} has no weights file (expected one of "
                  f"{', '.join(f for f, _ in LOADERS)})")


def read_weights(directory: Path) -> dict[str, np.ndarray]:
    path, loader = weights_file(directory)
    return {_canonical(k): np.asarray(v, dtype=np.float32) for k, v in loader(path).items()}


def embedding_tables(weights: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Token and position tables; the position table has the first token type folded in
    (single-segment inputs). KeyError names a missing tensor."""
    e = "embeddings"
    pos = weights[f"{e}.position_embeddings.weight"]
    if f"{e}.token_type_embeddings.weight" in weights:
        pos = pos + weights[f"{e}.token_type_embeddings.weight"][0]
    return weights[f"{e}.word_embeddings.weight"], pos


@dataclass
class Checkpoint:
    directory: Path
    spec: BertSpec
    weights: dict[str, np.ndarray]
    vocab: Path


def check_checkpoint(directory: str | Path) -> tuple[BertSpec, Path]:
    """Config and vocabulary of a local checkpoint directory, and that it has a weights file,
    without reading the weights (cheap: callers check before hours of work)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise QTError(f"checkpoint directory not found: {directory}")
    spec = read_spec(directory)
    vocab = directory / "vocab.txt"
    if not vocab.is_file():
        raise QTError(f"{directory} has no vocab.txt (the WordPiece vocabulary)")
    weights_file(directory)
    return spec, vocab


def read_checkpoint(directory: str | Path) -> Checkpoint:
    """Read config, weights and vocabulary from a local directory (never the network)."""
    spec, vocab = check_checkpoint(directory)
    return Checkpoint(Path(directory), spec, read_weights(Path(directory)), vocab)
