"""QKeras transformer -> hls4ml HLS project, co-verification and board-fit estimates.

Entry points for the build CLI::

    conv = convert_model(model, board.part, board.clock_mhz, out_dir, calibration_x=x_train,
                         reuse=fit["reuse"], strategy=fit["strategy"])
    conv.hls_model.compile(); coverify(model, conv, x_test); write_tb_data(model, x, out_dir)
"""

from .. import quiet_tensorflow  # noqa: F401  (first: TensorFlow loads quietly)
from .convert import Conversion, convert, convert_model, hls_config, hls_inputs
from .coverify import coverify, keras_trace, range_check, trace_compare, write_tb_data
from .estimate import choose_reuse, estimate, totals, utilization
from .flow import build_hls
from .precision import LayerPlan, plan_model, precision_table

__all__ = ["Conversion", "LayerPlan", "build_hls", "choose_reuse", "convert", "convert_model",
           "coverify", "estimate", "hls_config", "hls_inputs", "keras_trace", "plan_model",
           "precision_table", "range_check", "totals", "trace_compare", "utilization",
           "write_tb_data"]
