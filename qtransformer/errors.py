"""One error type for every bad input the user can fix.

The CLI turns a :class:`QTError` into a one-line message and a non-zero exit; anything
else is a bug and keeps its traceback.
"""


class QTError(Exception):
    """A user-facing error: bad flag, bad data file, missing tool, unsafe output path."""
