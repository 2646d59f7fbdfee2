#!/usr/bin/env bash
# Quantization-suite benchmark (issue #6): the bit-width search and the Pareto sweeps.
#   bash benchmarks/quant_bench.sh digits     # ~40 min on 2 cores
#   bash benchmarks/quant_bench.sh sst2       # ~50 min on 2 cores (needs ../shared/data/sst2)
# Results: benchmarks/results/quant/<dataset>-*/ (pareto.json/.md/.png, search.md, timings).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?usage: quant_bench.sh digits|sst2}
out=benchmarks/results/quant
mkdir -p "$out"
cfg=benchmarks/configs/$what.yaml
timed() {  # name, command...: run it and record its wall time
    local name=$1; shift
    local t0=$SECONDS
    "$@"
    echo "{\"step\": \"$name\", \"seconds\": $((SECONDS - t0))}" >> "$out/timings.jsonl"
}
case $what in
digits)
    timed digits-search python -m qtransformer.search --config "$cfg" --trials 20 --epochs 30 \
        --max-minutes 30 --output "$out/digits-search" --force
    # trials trained like the sweep's points (60 epochs): the search ranks as the sweep does
    timed digits-search60 python -m qtransformer.search --config "$cfg" --trials 20 \
        --epochs 60 --max-minutes 30 --output "$out/digits-search60" --force
    timed digits-autoq60 python -m qtransformer.sweep --config "$cfg" --bits binary \
        --sparsity 0 --autoq "$out/digits-search60" --output "$out/digits-autoq60" --force
    timed digits-sweep python -m qtransformer.sweep --config "$cfg" \
        --bits float 8 4 po2-4 ternary stochastic-ternary binary binary-noscale \
        stochastic-binary --sparsity 0 0.75 --autoq "$out/digits-search" \
        --output "$out/digits-sweep" --force
    timed digits-act4 python -m qtransformer.sweep --config "$cfg" --bits float 4 ternary \
        binary --act-bits 4 --sparsity 0 --output "$out/digits-act4" --force
    ;;
sst2)
    # no csim per point here (872 sentences x 70 ms each); prune_bench.py --dataset sst2
    # co-verifies the SST-2 model in HLS
    timed sst2-sweep python -m qtransformer.sweep --config "$cfg" --no-hls \
        --bits float ternary binary --sparsity 0 0.5 --output "$out/sst2-sweep" --force
    # (binary at sparsity 0.5 is skipped now: binary weights have no zero level)
    timed sst2-act4 python -m qtransformer.sweep --config benchmarks/configs/sst2-act4.yaml \
        --no-hls --bits ternary --act-bits 4 --sparsity 0 --output "$out/sst2-act4" --force
    timed sst2-binary-pos4 python -m qtransformer.sweep --no-hls --bits binary --sparsity 0 \
        --config benchmarks/configs/sst2-binary-pos4.yaml --output "$out/sst2-binary-pos4" --force
    ;;
*) echo "unknown benchmark $what (digits | sst2)" >&2; exit 2 ;;
esac
