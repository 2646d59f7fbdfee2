import pytest

from qtransformer.boards import BOARDS, get_board
from qtransformer.config import BuildConfig, QuantConfig, config_from_dict, load_config, parse_bits
from qtransformer.errors import QTError


@pytest.mark.parametrize("value,expected", [("float", "float"), ("binary", "binary"),
                                            ("TERNARY", "ternary"), ("8", "8"), (4, "4"),
                                            ("16", "16")])
def test_parse_bits_accepts(value, expected):
    assert parse_bits(value) == expected


@pytest.mark.parametrize("value", ["0", "1", "33", "abc", "-4", "17", "", "4.5",
                                   "stochastic-4"])
def test_parse_bits_rejects(value):
    with pytest.raises(QTError, match="invalid bits"):
        parse_bits(value)


def test_pynq_z2_budget():
    b = get_board("PYNQ-Z2")
    assert (b.part, b.lut, b.ff, b.bram36, b.dsp, b.clock_mhz) == \
        ("xc7z020clg400-1", 53_200, 106_400, 140, 220, 100.0)


def test_unknown_board_lists_known():
    with pytest.raises(QTError) as err:
        get_board("pynq-z9")
    for name in BOARDS:
        assert name in str(err.value)


def test_yaml_round_trip(tmp_path):
    cfg = BuildConfig()
    cfg.quant.bits = "ternary"
    cfg.model.layers = 3
    cfg.to_yaml(tmp_path / "c.yaml")
    back = load_config(tmp_path / "c.yaml")
    assert back.to_dict() == cfg.to_dict()


def test_yaml_unknown_key_is_named():
    with pytest.raises(QTError, match="nheads"):
        config_from_dict({"model": {"nheads": 4}})


def test_yaml_mask_padding_must_be_a_boolean():
    """A quoted "false" in YAML is a string, which Python takes as true: one error line."""
    with pytest.raises(QTError, match="mask_padding 'false'"):
        config_from_dict({"model": {"mask_padding": "false"}}).model.validate()
    config_from_dict({"model": {"mask_padding": False}}).model.validate()


def test_token_pruning_on_an_ode_encoder_is_refused():
    """A config or API user (the CLI refuses it earlier): one error line, not TensorFlow's."""
    from qtransformer.config import ModelConfig

    with pytest.raises(QTError, match="not offered on an ODE encoder"):
        ModelConfig(seq_len=8, token_keep=3, ode_steps=2).validate()


def test_quant_widths_validated():
    with pytest.raises(QTError, match="act_bits"):
        QuantConfig(act_bits=0).validate()
    with pytest.raises(QTError, match="act_int"):
        QuantConfig(act_bits=4, act_int=4).validate()
    with pytest.raises(QTError, match="bias_bits 8 for po2"):
        QuantConfig(bias="po2").validate()
    with pytest.raises(QTError, match="ffn_act 'gelu'"):
        QuantConfig(ffn_act="gelu").validate()
    with pytest.raises(QTError, match="bias quantizer 'log'"):
        QuantConfig(bias="log").validate()
