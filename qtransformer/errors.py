"""One error type for every bad input the user can fix.

The CLI turns a :class:`QTError` into a one-line message and a non-zero exit; anything
else is a bug and keeps its traceback.
"""


class QTError(Exception):
    """A user-facing error: bad flag, bad data file, missing tool, unsafe output path."""


def read_json_object(path) -> dict:
    """The JSON object in ``path``; a corrupt file or one that holds no object is a QTError
    that names it (user-supplied config.json, teacher.json)."""
    import json

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise QTError(f"{path}: corrupt JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise QTError(f"{path}: expected a JSON object")
    return raw
