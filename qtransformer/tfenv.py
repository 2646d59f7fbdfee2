"""Load TensorFlow without the start-up noise a CPU-only user takes for a failure.

TensorFlow 2.14 prints three "Unable to register cuDNN/cuFFT/cuBLAS factory" lines at
``import tensorflow`` on every machine, GPU or not, at ERROR level: ``TF_CPP_MIN_LOG_LEVEL=2``
(set here before the import, which hides INFO and WARNING) does not hide them, and level 3
would hide real errors too. So the import runs with the process's stderr (file descriptor 2,
where the C++ logging writes) captured, and every captured line except those known start-up
messages is written back. Keras' ``constraints.serialize`` warning (QKeras quantizers are
saved as constraints, and the saved model loads back: tests/test_circulant.py loads one) is
filtered by its message. The command lines that train (build, sweep, search, bert) call
:func:`load_tensorflow` first. ``QT_TF_STDERR=raw`` turns the filter off: a C++ abort during
the import (e.g. a CPU without AVX) would otherwise end the process with its message still in
the capture.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

# Start-up lines known to be harmless on a CPU-only machine (TensorFlow 2.14's wording).
STARTUP_NOISE = re.compile(
    r"Unable to register (cuDNN|cuFFT|cuBLAS) factory: Attempting to register factory for "
    r"plugin \w+ when one has already been registered")
KERAS_CONSTRAINT_WARNING = r"The `keras\.constraints\.serialize\(\)` API should only be used"


def load_tensorflow() -> None:
    """Import TensorFlow once, quietly; later imports anywhere get the loaded module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", message=KERAS_CONSTRAINT_WARNING, category=UserWarning)
    if "tensorflow" in sys.modules:
        return
    if os.environ.get("QT_TF_STDERR") == "raw":
        import tensorflow  # noqa: F401
        return
    with _filtered_stderr(STARTUP_NOISE):
        import tensorflow  # noqa: F401


@contextmanager
def _filtered_stderr(noise: re.Pattern) -> Iterator[None]:
    """Capture file descriptor 2 for the block; replay the lines ``noise`` does not match."""
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [ln for ln in capture.read().decode("utf-8", "replace").splitlines(True)
                    if not noise.search(ln)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
