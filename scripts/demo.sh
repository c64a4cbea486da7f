#!/usr/bin/env bash
# The README's main command (`make demo`): trains CopyMTL-One on the demo corpus
# (training_config/copymtl_demo.jsonnet), scores it on the demo test split with
# `allennlp evaluate`, and prints the triplets it extracts from fixtures/demo/examples.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${DEMO_DIR:-runs/demo}
BIN=.venv/bin
# One thread by default: the demo's small batches gain little from a second, and on a busy 2-core
# machine two threads contend with the other work (DEMO_THREADS=2 make demo to choose another count).
export OMP_NUM_THREADS=${DEMO_THREADS:-1}
mkdir -p "$(dirname "$RUN")"
start=$(date +%s)
echo "== training CopyMTL-One on fixtures/demo/train.jsonl, $OMP_NUM_THREADS thread(s) (full log: $RUN.log)"
# the whole log to the file; each epoch's dev strict F1 to the terminal as it comes
$BIN/allennlp train training_config/copymtl_demo.jsonnet -s "$RUN" -f --file-friendly-logging 2>&1 \
  | tee "$RUN.log" \
  | awk '/gradient_descent_trainer - Epoch [0-9]+\/[0-9]+/ {split($NF, e, "/"); epoch = e[1] + 1; total = e[2] + 1}
         /console_logger - f1 +\|/ {printf "   epoch %d/%d: dev strict F1 %s\n", epoch, total, $NF; fflush()}' \
  || { tail -30 "$RUN.log"; exit 1; }
$BIN/python - "$RUN/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"   best epoch {m['best_epoch'] + 1}: dev strict P {m['best_validation_precision']:.3f} "
      f"R {m['best_validation_recall']:.3f} F1 {m['best_validation_f1']:.3f}; "
      f"tagging F1 {m['best_validation_tagging_f1']:.3f}; training took {m['training_duration']}")
PY
echo "== allennlp evaluate $RUN/model.tar.gz fixtures/demo/test.jsonl"
$BIN/allennlp evaluate "$RUN/model.tar.gz" fixtures/demo/test.jsonl --output-file "$RUN/test_metrics.json" >>"$RUN.log" 2>&1
$BIN/python -c "import json,sys; m=json.load(open(sys.argv[1])); print(f\"   test strict P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f}\")" "$RUN/test_metrics.json"
echo "== triplets extracted from fixtures/demo/examples.txt"
$BIN/python scripts/show_examples.py "$RUN/model.tar.gz" fixtures/demo/examples.txt
echo "== done in $(( $(date +%s) - start )) s; archive: $RUN/model.tar.gz"
