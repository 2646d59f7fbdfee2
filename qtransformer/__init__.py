"""qtransformer: compressed transformer classifiers from QKeras to FPGA HLS."""

__version__ = "0.1.0"
