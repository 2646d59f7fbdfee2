"""Importing this module loads TensorFlow quietly (:func:`tfenv.load_tensorflow`).

A package whose modules import TensorFlow imports it first, so that a command run as one of
its modules (``python -m qtransformer.hls.reports``, ``python -m qtransformer.bert``) shows
no start-up noise: Python imports the package before the module's ``main`` could call
``load_tensorflow`` itself.
"""

from .tfenv import load_tensorflow

load_tensorflow()
