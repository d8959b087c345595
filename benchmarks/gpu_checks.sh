#!/usr/bin/env bash
# Every GPU check of a short device session in one call, each under its own time limit, so the call always ends
# with its logs: (1) the Table 1 cell at smoke scale on the device (catches a device error in seconds and builds
# the data cache), (2) the step benchmark at paper sizes with Table 13 beside ours, (3) the Table 1 cell at the
# paper profile (benchmarks/gpu_paper_cell.sh). Logs and results go to $OUT (default outputs/gpu_checks): at most
# eight files, the cell's per-run files packed into cell-<profile>.tar.gz.
#
# Settings (environment): DEVICE (cuda), PYTHON (python3), DEADLINE (570: seconds for the whole script; the cell
# gets what the first two steps leave), BENCH_SECONDS (150: the benchmark's limit), BENCH_ARGS (extra bench_step.py
# options, e.g. "--methods dm dc"), RUN_ARGS and RENDER (passed on to gpu_paper_cell.sh), PROFILE (paper).
# The Fashion-MNIST files travel as data/fashion-mnist-gz (see gpu_paper_cell.sh).
# On the CPU, as the tests run it: DEVICE=cpu PROFILE=smoke BENCH_ARGS="--profile quick ..." benchmarks/gpu_checks.sh
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-outputs/gpu_checks}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
PROFILE=${PROFILE:-paper}
export PYTHONUNBUFFERED=1 PYTHON DEVICE PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # cobra_lab from this tree
mkdir -p "$OUT"
began=$(date +%s)
say() { echo "gpu_checks: $* ($(( $(date +%s) - began )) s)"; }

"$PYTHON" -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available() and torch.cuda.get_device_name())"

say "1/3 smoke cell on $DEVICE"
PROFILE=smoke RESULTS="$OUT/smoke" timeout 150 bash benchmarks/gpu_paper_cell.sh > "$OUT/smoke.log" 2>&1
smoke=$?
tail -n 5 "$OUT/smoke.log"
if [ "$smoke" != 0 ]; then
    for mode in vanilla fairdd cobra; do tail -n 20 "$OUT/smoke/$mode.log" 2>/dev/null | sed "s/^/$mode: /"; done
    say "smoke cell failed (rc $smoke): the paper cell would fail too, stopping"
    exit 1
fi

say "2/3 step benchmark at paper sizes"
timeout "${BENCH_SECONDS:-150}" "$PYTHON" benchmarks/bench_step.py --device "$DEVICE" --profile paper --steps 20 \
    --warmup 3 --json "$OUT/bench_step-paper-$DEVICE.json" ${BENCH_ARGS:-} > "$OUT/bench_step.log" 2>&1
say "step benchmark rc $?"
grep -v "^bench_step: G=" "$OUT/bench_step.log" | tail -n 40

left=$(( ${DEADLINE:-570} - ($(date +%s) - began) - 15 ))  # 15 s for the report and packing
say "3/3 Table 1 cell at the $PROFILE profile, $left s left"
RESULTS="$OUT/cell-$PROFILE" timeout "$left" bash benchmarks/gpu_paper_cell.sh > "$OUT/cell.log" 2>&1
cell=$?
say "cell rc $cell"
cat "$OUT/cell.log"
for mode in vanilla fairdd cobra; do  # how far each run got, when the limit stopped it
    [ "$cell" = 0 ] || tail -c 400 "$OUT/cell-$PROFILE/$mode.log" 2>/dev/null | tr '\r' '\n' | tail -n 2 | sed "s/^/$mode: /"
done
tar -czf "$OUT/cell-$PROFILE.tar.gz" -C "$OUT" "cell-$PROFILE" smoke && rm -rf "${OUT:?}/cell-$PROFILE" "${OUT:?}/smoke"
exit "$cell"
