import numpy as np
import pytest

from qtransformer.config import DataConfig
from qtransformer.data import load_dataset
from qtransformer.data.textfile import read_labelled_text
from qtransformer.data.tokenize import train_tokenizer
from qtransformer.errors import QTError


def test_digits_default_is_embedded_and_deterministic():
    a = load_dataset(DataConfig(), seed=3)
    b = load_dataset(DataConfig(), seed=3)
    c = load_dataset(DataConfig(), seed=4)
    assert a.x_train.shape[1:] == (8, 8) and a.classes == 10
    assert len(a.y_train) + len(a.y_val) + len(a.y_test) == 1797
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)
    assert a.x_train.min() >= 0 and a.x_train.max() <= 1
    np.testing.assert_array_equal(a.x_train * 16, np.round(a.x_train * 16))  # exact 1/16 grid


def test_digits_patches():
    d = load_dataset(DataConfig(dataset="digits-patches"), seed=0)
    assert d.x_train.shape[1:] == (16, 4)


def test_text_file_tokenised(text_file):
    d = load_dataset(DataConfig(dataset=str(text_file), seq_len=12, vocab_size=60), seed=0)
    assert d.kind == "tokens" and d.class_names == ["0", "1"]
    assert d.x_train.shape[1] == 12 and d.x_train.dtype == np.int32
    assert d.vocab_size <= 60 and d.x_train.max() < d.vocab_size
    assert (d.x_train[:, 0] == d.tokenizer.token_to_id("[CLS]")).all()


def test_trained_vocabulary_is_reproducible():
    """tokenizers numbers "##x" in hash-map order (huggingface/tokenizers#1794); ours must not."""
    texts = ["wel come to the tok en izers libr ary", "welcome to the tokenizers library",
             "a gorgeous , witty , seductive movie", "the movie is gorgeous and witty"] * 3
    vocabs = {tuple(sorted(train_tokenizer(texts, 80).get_vocab().items())) for _ in range(30)}
    assert len(vocabs) == 1
    tok = train_tokenizer(texts, 80)
    assert tok.encode("welcome ##x").tokens[0] == "[CLS]"  # BERT template installed
    assert "##x" not in tok.encode("welcome ##x").tokens  # "##x" is text, not a special token


def test_no_header_csv(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text('"good, really",pos\nbad,neg\nfine,pos\n', encoding="utf-8")
    texts, labels = read_labelled_text(p)
    assert texts == ["good, really", "bad", "fine"] and labels == ["pos", "neg", "pos"]


def test_columns_by_name_and_index(tmp_path):
    p = tmp_path / "x.tsv"
    p.write_text("id\tmy_label\tbody\n1\ta\thello\n2\tb\tworld\n", encoding="utf-8")
    assert read_labelled_text(p, "body", "my_label") == (["hello", "world"], ["a", "b"])
    assert read_labelled_text(p, "2", "1", header="yes") == (["hello", "world"], ["a", "b"])


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"sentence\tlabel\n", "no data rows"),
    (b"sentence\tlabel\ngood\t1\nnice\t1\n", "only one class"),
    (b"sentence\tlabel\ngood\t1\nbad \xff\xfe\t0\n", "not UTF-8"),
    (b"sentence\tscore\ngood\t1\nbad\t0\n", "no label column"),
    (b"sentence\tlabel\ngood\t1\nbad\n", "missing label column"),
])
def test_bad_text_files(tmp_path, content, message):
    p = tmp_path / "bad.tsv"
    p.write_bytes(content)
    with pytest.raises(QTError, match=message):
        load_dataset(DataConfig(dataset=str(p)), seed=0)


def test_missing_file_and_unknown_builtin(tmp_path):
    with pytest.raises(QTError, match="not found"):
        load_dataset(DataConfig(dataset=str(tmp_path / "nope.tsv")), seed=0)
    with pytest.raises(QTError, match="unknown dataset"):
        load_dataset(DataConfig(dataset="mnist"), seed=0)


def test_label_column_by_missing_name(text_file):
    with pytest.raises(QTError, match="'target' not in header"):
        read_labelled_text(text_file, label_column="target")
