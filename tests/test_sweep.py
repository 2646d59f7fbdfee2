"""The sweep writes a Pareto report; the front logic is checked on known points."""

from __future__ import annotations

import json

import pytest

from qtransformer.evaluate.pareto import pareto_front
from qtransformer.sweep import main


def test_pareto_front_known_points():
    pts = [{"accuracy": 0.9, "c": 10}, {"accuracy": 0.8, "c": 5}, {"accuracy": 0.7, "c": 6},
           {"accuracy": 0.9, "c": 12}, {"accuracy": 0.95, "c": 50}]
    assert pareto_front(pts, "c") == [0, 1, 4]


def test_sweep_writes_report(tmp_path, capsys):
    cfg = tmp_path / "base.yaml"
    cfg.write_text("model: {d_model: 8, heads: 2, ff_dim: 16, layers: 1}\n"
                   "data: {max_examples: 256}\ntrain: {epochs: 1}\nhls: {enabled: false}\n")
    search = tmp_path / "search"   # a search's output: only best_config.yaml is read
    search.mkdir()
    (search / "best_config.yaml").write_text(
        'quant: {bits: "4", act_bits: 6, overrides: {"block*_attn": {bits: ternary}}}\n')
    out = tmp_path / "sweep"
    assert main(["--config", str(cfg), "--bits", "8", "binary", "--act-bits", "4",
                 "--sparsity", "0", "0.5", "--prune-epochs", "1", "--autoq", str(search),
                 "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    # points run quietly: no epoch lines, the pruning fine-tune's included (it printed them)
    assert "[prune] magnitude" in printed and "  epoch " not in printed
    report = json.loads((out / "pareto.json").read_text())
    names = [p["name"] for p in report["points"]]
    # binary has no zero level: pruning it is skipped
    assert names == ["w8-a4", "w8-a4-s50", "wbinary-a4", "autoq"]
    by = {p["name"]: p for p in report["points"]}
    assert by["w8-a4-s50"]["nonzero_bits"] < 0.75 * by["w8-a4"]["nonzero_bits"]
    assert by["wbinary-a4"]["model_bits"] < by["w8-a4"]["model_bits"]
    assert by["autoq"]["bits"] == "mixed" and by["autoq"]["act_bits"] == 6
    assert by["w8-a4"]["act_bits"] == 4
    assert by["w8-a4"]["lut_estimate"] > 0     # board estimate even with the HLS stage off
    assert by["wbinary-a4"]["model_bits"] < by["autoq"]["model_bits"] < by["w8-a4"]["model_bits"]
    assert report["fronts"]["nonzero_bits"]
    assert (out / "pareto.png").stat().st_size > 10_000
    assert "| w8-a4 | 8 | 4 |" in (out / "pareto.md").read_text()
    # --rewrite re-summarises (and re-estimates) a finished sweep without training
    (out / "pareto.md").unlink()
    assert main(["--rewrite", str(out)]) == 0
    again = json.loads((out / "pareto.json").read_text())
    assert [p["name"] for p in again["points"]] == names
    # every reuse factor 1 is never smaller than the fitted design (equal when it fits as is)
    assert again["points"][0]["lut_parallel_estimate"] >= again["points"][0]["lut_estimate"] > 0
    assert "lut_parallel_estimate" in again["fronts"] and (out / "pareto.md").is_file()


def test_sweep_bad_bits(tmp_path, capsys):
    assert main(["--bits", "8", "33", "--output", str(tmp_path / "s")]) == 2
    assert "invalid bits '33'" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_sweep_autoq_without_search(tmp_path, capsys):
    assert main(["--autoq", str(tmp_path), "--output", str(tmp_path / "s")]) == 2
    assert "no best_config.yaml" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_sweep_circulant_points(capsys):
    from qtransformer.config import BuildConfig
    from qtransformer.errors import QTError
    from qtransformer.sweep import points

    grid = points(BuildConfig(), ["8", "ternary"], [0.0, 0.5], None, [1, 8])
    assert [n for n, _ in grid] == ["w8", "w8-c8", "w8-s50", "wternary", "wternary-c8",
                                    "wternary-s50"]
    assert dict(grid)["wternary-c8"].model.circulant == 8
    assert "skipping circulant 8 at sparsity 0.5" in capsys.readouterr().out
    with pytest.raises(QTError, match="invalid --circulant 3"):
        points(BuildConfig(), ["8"], [0.0], None, [3])
