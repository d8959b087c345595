#!/usr/bin/env bash
# One Table 1 cell at the paper profile on one GPU: cfmnist_bg, DM, IPC 10, vanilla / FairDD / COBRA run side
# by side (three processes on the one GPU), then our EOD (Acc) beside Table 1's and each run's times.
#
# Needs no network. Fashion-MNIST comes from data/FashionMNIST/raw (torchvision's layout, uncompressed IDX
# files); when those are absent, the script unpacks gzipped IDX files from $FASHION_MNIST_GZ (default
# data/fashion-mnist-gz, else Debian's /usr/share/datasets/fashion-mnist) into it. To send the data with the
# working tree to a machine that lacks them, copy the 30 MB of gzipped files into the ignored data/ folder:
#     mkdir -p data/fashion-mnist-gz && cp /usr/share/datasets/fashion-mnist/*.gz data/fashion-mnist-gz/
# and have the data/fashion-mnist-gz folder travel with the tree (the device tool's `carry`).
#
# Settings (environment): PROFILE (paper), DEVICE (cuda; "profile" keeps the profile's own device),
# RENDER (clean; reference: the pixels the published FairDD / COBRA code paints, its overflowing background),
# PARALLEL (1: the three runs at once, the cores shared out between them; 0: one after another), RESULTS (folder for
# each run's JSON and log and the report's report.json, default outputs/gpu_paper_cell/<profile>-<render>),
# COBRA_LAB_OUTPUTS (the run store),
# PYTHON (python3), RUN_ARGS (more `cobra-lab run` options for all three, e.g. "--seed 1" or
# "--set distill.iterations=5000" to fit a time budget; a changed setting is another run, and the report shows
# the profile and nets). A finished run is read back from the store, never recomputed.
# On the CPU at smoke scale (what the tests run): PROFILE=smoke DEVICE=cpu benchmarks/gpu_paper_cell.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-paper}
DEVICE=${DEVICE:-cuda}
RENDER=${RENDER:-clean}
PARALLEL=${PARALLEL:-1}
PYTHON=${PYTHON:-python3}
RESULTS=${RESULTS:-outputs/gpu_paper_cell/$PROFILE-$RENDER}
DATA_ROOT=${COBRA_LAB_DATA:-data}
RAW="$DATA_ROOT/FashionMNIST/raw"
FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

missing=0
for name in $FILES; do [ -f "$RAW/$name" ] || missing=1; done
if [ "$missing" = 1 ]; then
    GZ=${FASHION_MNIST_GZ:-}
    if [ -z "$GZ" ]; then
        if [ -d data/fashion-mnist-gz ]; then GZ=data/fashion-mnist-gz; else GZ=/usr/share/datasets/fashion-mnist; fi
    fi
    mkdir -p "$RAW"
    for name in $FILES; do
        [ -f "$GZ/$name.gz" ] || { echo "gpu_paper_cell: $GZ/$name.gz not found (see the notes at the top)" >&2; exit 1; }
        gzip -dc "$GZ/$name.gz" > "$RAW/$name.part" && mv "$RAW/$name.part" "$RAW/$name"
    done
    echo "gpu_paper_cell: Fashion-MNIST unpacked from $GZ into $RAW"
fi
export COBRA_LAB_DATA="$DATA_ROOT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # cobra_lab from this tree, also for the report script

device_option=()
[ "$DEVICE" = profile ] || device_option=(--set "device=$DEVICE")
if [ "$DEVICE" = cuda ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
        | sed 's/^/gpu_paper_cell: GPU /' || true
fi

# Side by side, each run gets its share of the cores: three processes with torch's default threads each (one per
# core) spin against each other and every iteration slows several times (benchmarks/bench_loop.py measures it;
# benchmarks/README.md has the numbers of one GPU machine). OMP_NUM_THREADS, when set, wins.
if [ "$PARALLEL" = 1 ] && [ -z "${OMP_NUM_THREADS:-}" ]; then
    share=$(( $(nproc) / 3 ))
    export OMP_NUM_THREADS=$(( share > 0 ? share : 1 ))
fi

mkdir -p "$RESULTS"
run_mode() {  # one run; its JSON line to $RESULTS/<mode>.json, its progress bars and errors to <mode>.log
    local mode=$1 began
    began=$(date +%s)
    "$PYTHON" -m cobra_lab.cli run --dataset cfmnist_bg --method dm --mode "$mode" --ipc 10 --profile "$PROFILE" \
        --render "$RENDER" "${device_option[@]}" ${RUN_ARGS:-} --json > "$RESULTS/$mode.json" 2> "$RESULTS/$mode.log"
    echo "gpu_paper_cell: $mode done in $(( $(date +%s) - began )) s wall"
}

began=$(date +%s)
status=0
if [ "$PARALLEL" = 1 ]; then
    pids=()
    for mode in vanilla fairdd cobra; do run_mode "$mode" & pids+=($!); done
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
else
    for mode in vanilla fairdd cobra; do run_mode "$mode" || status=1; done
fi
echo "gpu_paper_cell: profile $PROFILE, render $RENDER, device $DEVICE, parallel $PARALLEL: $(( $(date +%s) - began )) s wall in all"
if [ "$status" != 0 ]; then
    for mode in vanilla fairdd cobra; do tail -n 3 "$RESULTS/$mode.log" | sed "s/^/$mode: /" >&2; done
    exit 1
fi
"$PYTHON" benchmarks/paper_cell_report.py "$RESULTS"/vanilla.json "$RESULTS"/fairdd.json "$RESULTS"/cobra.json \
    --json "$RESULTS/report.json"
