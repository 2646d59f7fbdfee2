"""What a user sees around a run: no TensorFlow start-up noise, directories by the umask."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import qtransformer
from qtransformer.outputs import staged
from qtransformer.tfenv import STARTUP_NOISE, _filtered_stderr


def test_tensorflow_loads_without_startup_noise():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = ("from qtransformer.tfenv import load_tensorflow; load_tensorflow(); "
            "import tensorflow as tf; print(tf.__version__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "2.14.1", proc.stderr
    assert "Unable to register" not in proc.stderr and "cuda" not in proc.stderr, proc.stderr


def _commands() -> list[str]:
    """Every ``python -m`` module of the package: a ``__main__.py`` or a ``__main__`` guard."""
    root = Path(qtransformer.__file__).parent
    mods = set()
    for path in root.rglob("*.py"):
        if path.name == "__main__.py":
            path = path.parent
        elif 'if __name__ == "__main__"' not in path.read_text():
            continue
        mods.add(".".join(path.relative_to(root.parent).with_suffix("").parts))
    return sorted(mods)


@pytest.mark.parametrize("module", _commands())
def test_no_command_prints_tensorflow_startup_noise(module):
    """A command run as a package's module (python -m qtransformer.hls.reports) imports its
    package first: the package, not the command's main, has to load TensorFlow quietly."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "usage:" in proc.stdout, proc.stderr[-2000:]
    for noise in ("Unable to register", "cuda", "oneDNN"):
        assert noise not in proc.stderr, proc.stderr[-2000:]


def test_the_commands_are_found():
    assert {"qtransformer.build", "qtransformer.bert", "qtransformer.hls.reports",
            "qtransformer.sweep"} <= set(_commands())


def test_only_known_noise_is_filtered(capfd):
    noise = ("E cuda_dnn.cc:9342] Unable to register cuDNN factory: Attempting to register "
             "factory for plugin cuDNN when one has already been registered\n")
    with _filtered_stderr(STARTUP_NOISE):
        os.write(2, noise.encode())
        os.write(2, b"E some_op.cc:1] a real error\n")
    err = capfd.readouterr().err
    assert err == "E some_op.cc:1] a real error\n"
    assert STARTUP_NOISE.search(noise) and not re.search(STARTUP_NOISE, "a real error")


def test_output_directories_honour_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        with staged(tmp_path / "run") as stage:
            (stage / "hls").mkdir()
    finally:
        os.umask(old)
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "run" / "hls").stat().st_mode & 0o777 == 0o750


def test_plot_title_holds_the_verdict():
    from qtransformer.evaluate.plot import verdict_title

    r = {"run": "r", "accuracy": 0.5, "f1": 0.25, "board": {"name": "pynq-z2"},
         "hardware_estimate": {"fits": False}}
    assert verdict_title(r) == ("r: test accuracy 50.00%, macro-F1 25.00%; DOES NOT FIT "
                                "pynq-z2 (estimate)")
    assert "FITS pynq-z2" in verdict_title({**r, "hardware_estimate": {"fits": True}})
    assert "no hardware verdict" in verdict_title({**r, "hardware_estimate": None})
