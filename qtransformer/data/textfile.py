"""Read a user's labelled text file (TSV or CSV; header optional) with clear errors.

Columns are picked by name (needs a header) or 0-based index. Without a choice the reader
looks for a header naming a text column (text, sentence, ...) and a label column (label,
class, ...); a file without a header is read as ``text<sep>label``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import QTError

TEXT_NAMES = ("text", "sentence", "sentence1", "review", "content", "document", "tweet")
LABEL_NAMES = ("label", "labels", "class", "target", "sentiment", "category", "y")


def _delimiter(path: Path, first_line: str) -> str:
    if path.suffix.lower() == ".tsv" or "\t" in first_line:
        return "\t"
    return ","


def _read_rows(path: Path) -> list[list[str]]:
    if not path.exists():
        raise QTError(f"data file not found: {path}")
    if not path.is_file():
        raise QTError(f"data path is not a file: {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise QTError(f"{path}: not UTF-8 text (bad byte 0x{raw[exc.start]:02x} on line {line}); "
                      "re-encode it as UTF-8") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise QTError(f"{path}: the file is empty")
    reader = csv.reader(lines, delimiter=_delimiter(path, lines[0]), quotechar='"')
    return [row for row in reader]


def _resolve(column: str | None, header: list[str] | None, names: tuple[str, ...],
             default: int, what: str, path: Path) -> int:
    if column is None:
        if header is not None:
            lowered = [h.strip().lower() for h in header]
            for name in names:
                if name in lowered:
                    return lowered.index(name)
            raise QTError(f"{path}: no {what} column found in header {header}; "
                          f"pass --{what}-column NAME or INDEX")
        return default
    column = str(column)
    if column.lstrip("-").isdigit():
        return int(column)
    if header is None:
        raise QTError(f"{path}: {what} column {column!r} given by name but the file has no "
                      "header; pass a 0-based index instead")
    stripped = [h.strip() for h in header]
    if column not in stripped:
        raise QTError(f"{path}: {what} column {column!r} not in header {stripped}")
    return stripped.index(column)


def _has_header(first: list[str], mode: str, text_col, label_col) -> bool:
    if mode in ("yes", "no"):
        return mode == "yes"
    if mode != "auto":
        raise QTError(f"invalid header mode {mode!r}: expected auto, yes or no")
    lowered = {f.strip().lower() for f in first}
    named = {str(c) for c in (text_col, label_col) if c is not None and not str(c).isdigit()}
    return bool(named & {f.strip() for f in first}) or bool(
        lowered & (set(TEXT_NAMES) | set(LABEL_NAMES)))


def read_labelled_text(path: str | Path, text_column: str | None = None,
                       label_column: str | None = None,
                       header: str = "auto") -> tuple[list[str], list[str]]:
    """Return ``(texts, labels)`` as strings, or raise :class:`QTError` saying what is wrong."""
    path = Path(path)
    rows = _read_rows(path)
    head = rows[0] if _has_header(rows[0], header, text_column, label_column) else None
    body = rows[1:] if head is not None else rows
    if not body:
        raise QTError(f"{path}: no data rows (only a header)")
    width = len(head) if head is not None else len(body[0])
    t = _resolve(text_column, head, TEXT_NAMES, 0, "text", path)
    lab = _resolve(label_column, head, LABEL_NAMES, width - 1, "label", path)
    if width < 2 and (label_column is None or t == lab):
        raise QTError(f"{path}: found one column; expected text and label columns "
                      "(TSV or CSV), e.g. 'sentence<TAB>label'")
    for col, what in ((t, "text"), (lab, "label")):
        if not -width <= col < width:
            raise QTError(f"{path}: {what} column index {col} out of range "
                          f"(the file has {width} columns)")
    texts, labels = [], []
    first_line = 2 if head is not None else 1
    for i, row in enumerate(body):
        if len(row) <= max(t % width, lab % width):
            raise QTError(f"{path}: line {first_line + i} has {len(row)} field(s), expected "
                          f"{width}: missing label column?")
        label = row[lab].strip()
        if not label:
            raise QTError(f"{path}: line {first_line + i} has an empty label")
        texts.append(row[t])
        labels.append(label)
    return texts, labels
