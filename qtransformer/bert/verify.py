"""Numerical check of an import against transformers' own BertModel (needs torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.tokenize import encode, load_tokenizer
from ..errors import QTError

SENTENCES = [
    "it 's a charming and often affecting journey .",
    "unflinchingly bleak and desperate",
    "the film is strictly routine .",
    "a gorgeous , witty , seductive movie .",
    "the acting , costumes , music , cinematography and sound are all astounding",
    "it 's slow -- very , very slow .",
    "FPGA inference of a quantized transformer, bit for bit.",
    "Short.",
]


def reference_hidden_states(directory: Path, ids: np.ndarray) -> np.ndarray:
    """``last_hidden_state`` of transformers' BertModel loaded from ``directory`` only."""
    try:
        import torch
        from transformers import BertModel
    except ImportError as exc:
        raise QTError(f"verify needs torch and transformers ({exc.name} is missing): "
                      "pip install torch") from None
    ref = BertModel.from_pretrained(str(directory), local_files_only=True,
                                    add_pooling_layer=False).eval()
    with torch.no_grad():
        out = ref(input_ids=torch.as_tensor(ids, dtype=torch.long),
                  attention_mask=torch.as_tensor(ids != ref.config.pad_token_id,
                                                 dtype=torch.long))
    return out.last_hidden_state.numpy()


def verify(directory: str | Path, seq_len: int = 32, sentences: list[str] | None = None) -> dict:
    """Max abs difference of hidden states (real tokens only) between our import and HF."""
    from . import import_bert

    directory = Path(directory)
    model, ckpt = import_bert(directory, seq_len=seq_len)
    ids = encode(load_tokenizer(ckpt.vocab), sentences or SENTENCES, seq_len)
    ours = model.predict(ids, verbose=0)
    ref = reference_hidden_states(directory, ids)
    real = ids != ckpt.spec.pad_token_id
    diff = np.abs(ours - ref)[real]
    return {"max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
            "tokens": int(real.sum()), "sentences": len(ids), "seq_len": seq_len}
