"""The layer-kind registry: unknown kinds and shared layers are errors, a new kind is one module
plus its C++ and converts bit-exact, the plan passes report what they changed."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from qkeras import QActivation, QDense

from qtransformer.config import ModelConfig, QuantConfig
from qtransformer.errors import QTError
from qtransformer.evaluate import model_costs
from qtransformer.fixed import Fx
from qtransformer.hls.convert import convert_model
from qtransformer.hls.coverify import coverify
from qtransformer.hls.estimate import estimate, totals
from qtransformer.hls.passes import FuseOutputQuantizers
from qtransformer.hls.precision import plan_model
from qtransformer.kinds import KINDS, CustomKind, LayerEstimate, LayerPlan, register, unregister
from qtransformer.kinds.masking import MASK_FX, is_masked
from qtransformer.model import build_model

PART = "xc7z020clg400-1"
Q8 = "quantized_bits(8,0,alpha=1)"


def _x(n=32, seq=4, feat=6, seed=0):
    return np.random.default_rng(seed).integers(0, 17, (n, seq, feat)).astype("float32") / 16


class Unregistered(tf.keras.layers.Layer):
    def call(self, x):
        return x


def test_unknown_layer_is_an_error_naming_layer_and_class():
    inp = tf.keras.Input((4, 6))
    x = QDense(8, kernel_quantizer=Q8, bias_quantizer=Q8, name="d")(inp)
    model = tf.keras.Model(inp, Unregistered(name="mystery")(x))
    for run in (lambda: plan_model(model), lambda: model_costs(model)):
        with pytest.raises(QTError, match=r"mystery \(Unregistered\).*no layer kind"):
            run()


def test_a_layer_called_twice_is_an_error():
    inp = tf.keras.Input((4, 8))
    shared = QDense(8, kernel_quantizer=Q8, bias_quantizer=Q8, name="shared")
    model = tf.keras.Model(inp, shared(shared(inp)))
    with pytest.raises(QTError, match=r"shared \(QDense\) is called 2 times"):
        plan_model(model)


def test_a_padding_mask_is_known_by_its_producer_not_its_width():
    """A one-bit unsigned activation has the mask's width but is no mask; the mask must come
    last; a missing or extra input is an error, not a guess."""
    one_bit = Fx(1, 1, False)
    assert one_bit.hls() == MASK_FX.hls() and one_bit != MASK_FX
    assert is_masked([Fx(8, 2), MASK_FX], 1)
    assert not is_masked([Fx(8, 2)], 1)
    for xins in ([Fx(8, 2), one_bit], [MASK_FX, Fx(8, 2)], [Fx(8, 2), Fx(8, 2), MASK_FX]):
        with pytest.raises(QTError, match="padding mask"):
            is_masked(xins, 1)


def test_fusion_pass_says_whether_it_changed_anything():
    tf.keras.utils.set_random_seed(0)
    m = build_model(ModelConfig(d_model=8, heads=2, ff_dim=16, layers=1, seq_len=4, classes=3),
                    QuantConfig(bits="8"), features=6)
    plans = plan_model(m, passes=[])
    assert plans["block0_ffn2_act"].kind == "act"
    fuse = FuseOutputQuantizers()
    assert fuse.apply(plans) is True
    assert plans["block0_ffn2_act"].kind == "fused"
    assert plans["block0_ffn2"].params["fused"] == "block0_ffn2_act"
    assert fuse.apply(plans) is False


# ---- a new kind: one Keras layer, one kind module's worth of code, its C++ as a string ----

class TimesConst(tf.keras.layers.Layer):
    """x * m for a small integer m (exact in fixed point)."""

    def __init__(self, m: int, **kwargs):
        super().__init__(**kwargs)
        self.m = int(m)

    def call(self, x):
        return x * float(self.m)

    def get_config(self):
        return {**super().get_config(), "m": self.m}


SCALE_CPP = """#ifndef QT_TIMES_CONST_H_
#define QT_TIMES_CONST_H_
#include "ap_fixed.h"
namespace nnet {
struct qt_times_const_config {};
template <class data_T, class res_T, typename CONFIG_T>
void qt_times_const(data_T data[CONFIG_T::n_elem], res_T res[CONFIG_T::n_elem]) {
    for (unsigned i = 0; i < CONFIG_T::n_elem; i++) {
        #pragma HLS UNROLL
        res[i] = data[i] * (ap_int<16>)CONFIG_T::m;   // exact: res_T holds every product
    }
}
}  // namespace nnet
#endif
"""


class TimesConstKind(CustomKind):
    name = "times_const"
    keras_classes = ("TimesConst",)
    ir_class, function, config_base = "QtTimesConst", "qt_times_const", "qt_times_const_config"
    unsigned = ("n_elem",)
    cpp, cpp_name = SCALE_CPP, "qt_times_const.h"

    def plan(self, layer, name, inputs, xins):
        xin = xins[0]
        grow = int(layer.m).bit_length() + 1
        out = Fx(xin.width + grow, xin.integer + grow, True)
        return LayerPlan(name, self.name, inputs, out,
                         params={"m": layer.m, "n_elem": int(np.prod(layer.output_shape[1:]))})

    def estimate_parallel(self, p, in_width):
        return LayerEstimate(p.name, p.kind, 1, p.elems, 0, 0, p.elems * p.out.width, 0, 0.0, 1)


@pytest.fixture
def times_const():
    register(TimesConstKind)
    yield
    unregister("times_const")


def test_a_new_kind_is_one_module_and_converts_bit_exact(tmp_path, times_const):
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((4, 6), name="patches")
    x = QDense(8, kernel_quantizer=Q8, bias_quantizer=Q8, name="proj")(inp)
    x = TimesConst(3, name="triple")(x)
    x = QActivation("quantized_bits(8,3,alpha=1)", name="triple_act")(x)
    x = tf.keras.layers.GlobalAveragePooling1D(name="pool")(x)
    out = QDense(3, kernel_quantizer=Q8, bias_quantizer=Q8, name="classifier")(x)
    model = tf.keras.Model(inp, out)
    x = _x()
    plans = plan_model(model)
    assert plans["triple"].kind == "times_const" and "times_const" in KINDS
    rows = {r.name: r for r in estimate(plans)}
    assert rows["triple"].lut == 4 * 8 * plans["triple"].out.width
    assert totals(estimate(plans))["lut"] == sum(r.lut for r in rows.values())
    assert {r["name"]: r for r in model_costs(model)["layers"]}["triple"]["params"] == 0
    conv = convert_model(model, PART, 100.0, tmp_path / "prj", calibration_x=x)
    assert (tmp_path / "prj" / "firmware" / "nnet_utils" / "qt_times_const.h").is_file()
    conv.hls_model.compile()
    r = coverify(model, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0


def test_cpp_config_refuses_a_float_parameter(tmp_path, times_const):
    class Node:
        name, index = "triple", 3

        def get_attr(self, key, default=None):
            return {"qt_params": {"m": 0.5}, "reuse_factor": 1}.get(key, default)

    with pytest.raises(QTError, match="m=0.5 is not an integer"):
        KINDS["times_const"].config_text(Node())
