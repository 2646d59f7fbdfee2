"""The deploy stage: the host driver of a built run on the board (PYNQ) or, with the same
packing and host path, against the C simulation (``--emulate``). numpy only, no TensorFlow:
the board's ARM cores run it.

    python -m qtransformer.deploy RUN_DIR --emulate          # the run's test split, offline
    python -m qtransformer.deploy RUN_DIR "a sentence"       # on the board
"""

from .driver import Driver, Prediction

__all__ = ["Driver", "Prediction"]
