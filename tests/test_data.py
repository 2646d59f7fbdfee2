import re

import numpy as np
import pytest

from qtransformer.config import DataConfig
from qtransformer.data import load_dataset
from qtransformer.data.text import data_seq_len
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


def test_tsv_quotes_are_characters(tmp_path):
    """An unbalanced quote at the start of a TSV text is kept as a character: no row lost."""
    p = tmp_path / "q.tsv"
    p.write_text('text\tlabel\n"oops, a quote\t1\nsecond row\t0\nthird "row"\t1\n',
                 encoding="utf-8")
    assert read_labelled_text(p) == (['"oops, a quote', "second row", 'third "row"'],
                                     ["1", "0", "1"])


@pytest.mark.parametrize("body,message", [
    ('text,label\nfine,1\n"oops start,1\nsecond row,0\nthird,1\n',
     "line 3: not valid CSV"),
    ('text,label\nfine,1\n"two\nlines",1\nx,0\n',
     "5 data lines but the row starting on line 3 runs over 2 lines"),
    ('text,label\nfine,1\n"a"b,1\n', "line 3: not valid CSV"),
    ('text,label\nfine,1\ngood, really,0\n', "line 3 has 3 field(s), expected 2"),
])
def test_csv_rows_checked_against_lines(tmp_path, body, message):
    p = tmp_path / "q.csv"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(QTError, match=re.escape(message)):
        read_labelled_text(p)


def test_csv_quoting_still_works(tmp_path):
    p = tmp_path / "ok.csv"
    p.write_text('text,label\n"good, ""really""",1\nhe said "hi",0\n', encoding="utf-8")
    assert read_labelled_text(p) == (['good, "really"', 'he said "hi"'], ["1", "0"])


@pytest.mark.parametrize("lengths,expected", [
    ([5] * 100, 8),                       # short texts: at least 8
    ([10] * 94 + [30] * 6, 32),           # the 95th percentile (30), rounded up to 8
    ([10] * 96 + [30] * 4, 16),           # 4% longer ones are truncated instead
    ([300] * 10, 256),                    # capped
])
def test_sequence_length_from_the_data(lengths, expected):
    n, why = data_seq_len(np.array(lengths))
    assert n == expected and "95th percentile" in why
    assert ("capped" in why) == (expected == 256)


def test_text_sequence_length_reported_and_overridable(text_file):
    d = load_dataset(DataConfig(dataset=str(text_file), vocab_size=60), seed=0)
    assert d.seq_len == 16 and d.seq_note.startswith("95th percentile of training lengths 15")
    assert "0.0% of training texts longer, cut into up to 8 windows" in d.seq_note
    d = load_dataset(DataConfig(dataset=str(text_file), vocab_size=60, seq_len=4), seed=0)
    assert d.seq_len == 4 and d.seq_note.startswith("--seq-len;")
    assert float(d.seq_note.split("; ")[1].split("%")[0]) > 0  # 4 tokens truncate some


def test_line_ends_only_end_lines_and_trailing_separators_are_dropped(tmp_path):
    p = tmp_path / "x.tsv"
    p.write_text("text\tlabel\t\nsay\u2028more\tpos\t\nho\tneg\r\n", encoding="utf-8")
    assert read_labelled_text(p) == (["say\u2028more", "ho"], ["pos", "neg"])


def test_without_a_header_the_odd_row_is_named(tmp_path):
    p = tmp_path / "x.tsv"
    p.write_text("a\tb\t1\nc\t0\nd\t1\n", encoding="utf-8")
    with pytest.raises(QTError, match=re.escape("line 1 has 3 field(s), expected 2")):
        read_labelled_text(p)


def test_a_teacher_caps_the_data_length():
    n, why = data_seq_len(np.array([300] * 10), cap=64)
    assert n == 64 and why.endswith("capped at 64")
