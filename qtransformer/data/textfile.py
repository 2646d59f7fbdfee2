"""Read a user's labelled text file (TSV or CSV; header optional) with clear errors.

Columns are picked by name (needs a header) or 0-based index. Without a choice the reader
looks for a header naming a text column (text, sentence, ...) and a label column (label,
class, ...); a file without a header is read as ``text<sep>label``.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from ..errors import QTError

TEXT_NAMES = ("text", "sentence", "sentence1", "review", "content", "document", "tweet")
LABEL_NAMES = ("label", "labels", "class", "target", "sentiment", "category", "y")


def _delimiter(path: Path, first_line: str) -> str:
    if path.suffix.lower() == ".tsv" or "\t" in first_line:
        return "\t"
    return ","


Row = tuple[int, list[str]]   # (line number in the file, fields)


def _read_rows(path: Path) -> list[Row]:
    """Every non-blank line as one row: split on tabs (quotes are plain characters in a TSV),
    or parsed as CSV (quoted fields may hold commas), checked to be one row per line."""
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
    # Only line ends end a line (str.splitlines would also split on U+2028, form feeds, ...
    # inside a text, and shift every later line number).
    physical = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [(n, ln) for n, ln in enumerate(physical, 1) if ln.strip()]
    if not lines:
        raise QTError(f"{path}: the file is empty")
    if _delimiter(path, lines[0][1]) == "\t":
        return [(n, ln.split("\t")) for n, ln in lines]
    return _csv_rows(path, lines)


def _trim(fields: list[str], width: int = 1) -> list[str]:
    """Without the empty fields past ``width`` that a trailing separator leaves (spreadsheet
    exports); a missing label stays missing."""
    while len(fields) > width and not fields[-1].strip():
        fields = fields[:-1]
    return fields


def _csv_rows(path: Path, lines: list[tuple[int, str]]) -> list[Row]:
    """CSV rows, one per data line; a quoted field running over a line end (an unbalanced
    ``"``, as often as a real multi-line text) would merge rows and lose their labels, so it is
    an error naming the line where rows and lines part."""
    reader = csv.reader((ln for _, ln in lines), delimiter=",", quotechar='"', strict=True)
    rows: list[Row] = []
    try:
        for fields in reader:
            if reader.line_num != len(rows) + 1:
                break
            rows.append((lines[len(rows)][0], fields))
    except csv.Error as exc:
        first = lines[min(len(rows), len(lines) - 1)][0]
        raise QTError(f"{path}: line {first}: not valid CSV ({exc}); an unbalanced '\"'? "
                      "Quote the whole field and double quotes inside it, or save it as TSV "
                      "(where quotes are plain characters)") from None
    if len(rows) != len(lines):
        first = lines[len(rows)][0]
        raise QTError(f"{path}: {len(lines)} data lines but the row starting on line {first} "
                      f"runs over {reader.line_num - len(rows)} lines (a quoted field with an "
                      "unbalanced '\"' or a line break); fix the quoting, or save it as TSV "
                      "(where quotes are plain characters)")
    return rows


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
    first = rows[0][1]
    head = _trim(first) if _has_header(first, header, text_column, label_column) else None
    body = rows[1:] if head is not None else rows
    if not body:
        raise QTError(f"{path}: no data rows (only a header)")
    # without a header, the width most rows have (the first row may be the odd one)
    width = len(head) if head is not None else \
        Counter(len(_trim(r)) for _, r in body).most_common(1)[0][0]
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
    for line, row in body:
        row = _trim(row, width)
        if len(row) != width:
            hint = ("missing label column?" if len(row) < width else
                    "a separator inside the text? Quote the field in a CSV; a TSV text "
                    "cannot hold a tab")
            raise QTError(f"{path}: line {line} has {len(row)} field(s), expected {width}: "
                          f"{hint}")
        label = row[lab].strip()
        if not label:
            raise QTError(f"{path}: line {line} has an empty label")
        texts.append(row[t])
        labels.append(label)
    return texts, labels
