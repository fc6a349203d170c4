#!/usr/bin/env bash
# The checks that need a GPU, in one script that fits about 8 minutes on one GPU:
#   1. the CUDA tests: no host sync in the HL terms (set_sync_debug_mode("error")), the full
#      step's sync count against stock, AMP fp16 / bf16 training with float32 centers;
#   2. bench_step.py --device cuda on the paper's setting (R50-C4, 600 px, 2 images,
#      512 RoIs, C = 20) and at C = 1,203 (LVIS size): HL / stock step time for k = 1 and 10;
#   3. one epoch of the demo on CUDA with --amp.
# Every step runs even if an earlier one failed; OUT_DIR gets each step's log and
# summary.md / summary.json (status, seconds and the key lines of each step).
#
#   tools/gpu_check.sh OUT_DIR              # on a GPU machine, from the repository root
#   tools/gpu_check.sh OUT_DIR --dry-run    # the same steps at toy sizes on the CPU (tests/perf)
set -uo pipefail
cd "$(dirname "$0")/.."

OUT="${1:?usage: tools/gpu_check.sh OUT_DIR [--dry-run]}"
DRY="${2:-}"
mkdir -p "$OUT"
PY="${PYTHON:-python}"

if [[ "$DRY" == "--dry-run" ]]; then
  DEVICE=cpu
  BENCH=(--model mobilenet --image-size 96 --batch-size 2 --rois 16 --steps 2 --warmup 1 --batches 1 --threads 1)
  CLASSES_BIG=200
  DEMO=(--set max_steps_per_epoch=2 --set max_eval_images=4 --set data.options.num_train=8 --set data.options.num_test=4
        --set data.workers=0 --set projector=false --set prediction_pictures=0 --data-root "$OUT/demo_data")
  TESTS=(tests/perf/test_perf_cuda.py)
  LIMIT=300
else
  DEVICE=cuda
  BENCH=(--model c4 --image-size 600 --batch-size 2 --rois 512 --steps 20 --warmup 3)
  CLASSES_BIG=1203
  DEMO=(--set data.workers=4)
  TESTS=(tests/perf/test_perf_cuda.py tests/perf/test_perf_host_sync.py)
  LIMIT=240
fi

declare -a NAMES STATUS DURATIONS
run_step() {  # name, then the command
  local name="$1"; shift
  local start=$SECONDS
  echo "[gpu_check] $name: $*"
  timeout "$LIMIT" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  NAMES+=("$name"); STATUS+=("$rc"); DURATIONS+=("$((SECONDS - start))")
  echo "[gpu_check] $name: exit $rc after $((SECONDS - start)) s"
}

run_step env "$PY" -c "import torch, torchvision, sys; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'python', sys.version.split()[0]); print('cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-')"
run_step cuda_tests "$PY" -m pytest -q -rs "${TESTS[@]}"
run_step bench_c20 "$PY" tools/bench_step.py --device "$DEVICE" "${BENCH[@]}" --classes 20 --update-every 1 10
run_step bench_c${CLASSES_BIG} "$PY" tools/bench_step.py --device "$DEVICE" "${BENCH[@]}" --classes "$CLASSES_BIG" --update-every 1 10
run_step demo_amp "$PY" tools/train_det.py --device "$DEVICE" --amp --epochs 1 --no-progress \
  --output-dir "$OUT/demo_run" "${DEMO[@]}"

# summary: each step's status and the lines that carry its result
"$PY" - "$OUT" "$DRY" "${NAMES[@]}" -- "${STATUS[@]}" -- "${DURATIONS[@]}" <<'EOF'
import json, re, sys
from pathlib import Path

out, dry, rest = Path(sys.argv[1]), sys.argv[2] == "--dry-run", sys.argv[3:]
first = rest.index("--")
second = rest.index("--", first + 1)
names, status, seconds = rest[:first], rest[first + 1:second], rest[second + 1:]
keys = re.compile(r"(passed|failed|skipped|ratio |saved for backward|CUDA peak|^model |^torch |^cuda |\[done\]|error)", re.I)
steps = []
for name, rc, sec in zip(names, status, seconds):
    log = (out / f"{name}.log").read_text(errors="replace").splitlines()
    steps.append({"step": name, "exit": int(rc), "seconds": int(sec), "ok": rc == "0",
                  "key_lines": [line.strip() for line in log if keys.search(line)][-12:]})
summary = {"dry_run": dry, "all_ok": all(s["ok"] for s in steps), "steps": steps}
(out / "summary.json").write_text(json.dumps(summary, indent=1))
lines = [f"# gpu_check {'(dry run, CPU)' if dry else ''}", "", "| step | exit | seconds |", "|---|---|---|"]
lines += [f"| {s['step']} | {s['exit']} | {s['seconds']} |" for s in steps]
for s in steps:
    lines += ["", f"## {s['step']}", "", "```", *s["key_lines"], "```"]
(out / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
