#!/usr/bin/env bash
# The device check: the package on one GPU, end to end, in one run of about 8 minutes.
#
#   bash benchmarks/gpu_check.sh --prepare     # here (registry access): builds .gpu/ (see below)
#   bash benchmarks/gpu_check.sh               # on the GPU machine: tests + figures
#   PYTHON=/path/to/python3.12 bash benchmarks/gpu_check.sh --dry-run   # the same on a CPU, small
#
# --prepare downloads the wheels of requirements/gpu-cp312.txt for CPython 3.12 on manylinux
# x86_64 (building the two source-only ones), installs them into a folder, strips the shared
# libraries' symbols and packs that folder as .gpu/site-cp312.tar.xz (about 52 MB); it copies the
# WebNLG corpus (webnlg_exact train and dev, from ../shared/data) to .gpu/data. .gpu/ is ignored by
# git: the device tool carries it with `carry: [".gpu/site-cp312.tar.xz", ".gpu/data"]`.
#
# The check (no --prepare) unpacks the site folder to $TMPDIR, puts it and the repository on
# PYTHONPATH ahead of the machine's own packages (it does not use .venv), then runs
#   1. pytest -m gpu (tests/test_gpu.py): train/save/load on cuda, CPU-vs-GPU outputs, mixed
#      precision, allennlp predict --cuda-device 0;
#   2. benchmarks/gpu_check.py: paper-size CopyMTL-One on WebNLG (webnlg_exact), --epochs epochs in
#      float32, bfloat16 and float16 (time per epoch, sentences/s, dev F1, peak GPU memory), and
#      inference at batch 100 and 1000 (float32, bfloat16).
# Outputs go to $OUT (the device tool's folder) or .gpu/out: gpu_tests.log, gpu_check.json,
# gpu_check.log. Extra arguments go to gpu_check.py (e.g. --epochs 2).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
GPU_DIR=.gpu
SITE_ARCHIVE=$GPU_DIR/site-cp312.tar.xz
DATA=$GPU_DIR/data/webnlg_exact
SHARED_DATA=${SHARED_DATA:-../shared/data}
# source distributions only: built into wheels here (pure Python)
BUILT_HERE="fairscale termcolor"

prepare() {
  local pip="${PREPARE_PYTHON:-python3} -m pip"
  local wheels=$GPU_DIR/wheels site=$GPU_DIR/site
  local platforms="--platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
  local target="--python-version 3.12 --implementation cp --only-binary=:all: $platforms"
  mkdir -p "$wheels"
  local binary sources
  binary=$(mktemp); sources=$(mktemp)
  grep -v -E '^\s*(#|$)' requirements/gpu-cp312.txt | grep -v -E "^($(echo "$BUILT_HERE" | tr ' ' '|'))==" >"$binary"
  grep -E "^($(echo "$BUILT_HERE" | tr ' ' '|'))==" requirements/gpu-cp312.txt >"$sources"
  $pip download --quiet --no-deps $target -d "$wheels" -r "$binary"
  $pip wheel --quiet --no-deps -w "$wheels" -r "$sources"
  rm -f "$binary" "$sources"
  rm -rf "$site"
  $pip install --quiet --no-deps --no-compile --target "$site" $target "$wheels"/*.whl
  find "$site" -name '*.so*' -type f -exec strip --strip-unneeded {} +
  find "$site" -name __pycache__ -type d -prune -exec rm -rf {} +
  tar -C "$site" -cJf "$SITE_ARCHIVE" .
  rm -rf "$site"
  mkdir -p "$DATA"
  for split in train dev; do
    if [ ! -f "$SHARED_DATA/webnlg_exact/$split.jsonl" ]; then
      echo "gpu_check.sh: $SHARED_DATA/webnlg_exact/$split.jsonl not found (SHARED_DATA=...)" >&2; exit 1
    fi
    install -m 0644 "$SHARED_DATA/webnlg_exact/$split.jsonl" "$DATA/$split.jsonl"
  done
  local mb='{printf "%.1f MB", $1 / 1e6}'
  echo "gpu_check.sh: $(du -cb "$wheels"/*.whl | tail -1 | awk "$mb") of wheels packed as $(du -b "$SITE_ARCHIVE" | awk "$mb") $SITE_ARCHIVE; $(du -sb "$GPU_DIR/data" | awk "$mb") $GPU_DIR/data"
  # what the device tool sends: the repository's files that git does not ignore, and the carried paths
  echo "gpu_check.sh: $( (git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -1; du -cb "$SITE_ARCHIVE" "$GPU_DIR/data" | tail -1) | awk '{t += $1} END {printf "%.1f MB", t / 1e6}') to send (the limit: 64 MiB = 67.1 MB)"
  echo "on the device: command 'bash benchmarks/gpu_check.sh', carry [\"$SITE_ARCHIVE\", \"$GPU_DIR/data\"]"
}

check() {
  local dry_run=$1; shift
  local python=${PYTHON:-python3}
  local out=${OUT:-$GPU_DIR/out}
  [ -f "$SITE_ARCHIVE" ] || { echo "gpu_check.sh: $SITE_ARCHIVE not found: run 'bash benchmarks/gpu_check.sh --prepare' first" >&2; exit 1; }
  [ -f "$DATA/train.jsonl" ] || { echo "gpu_check.sh: $DATA/train.jsonl not found: run --prepare first" >&2; exit 1; }
  mkdir -p "$out"
  local site
  site=$(mktemp -d "${TMPDIR:-/tmp}/copymtl-site.XXXXXX")
  tar -C "$site" -xJf "$SITE_ARCHIVE"
  export PYTHONPATH="$site:$REPO" PYTHONUNBUFFERED=1
  local started=$SECONDS
  "$python" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available() and torch.cuda.get_device_name(0))' | tee "$out/gpu_check.log"
  local tests=0
  "$python" -m pytest -q -m gpu -p no:cacheprovider -rs tests/test_gpu.py 2>&1 | tee "$out/gpu_tests.log" || tests=$?
  echo "gpu_check.sh: gpu tests exit status $tests, $((SECONDS - started)) s" | tee -a "$out/gpu_check.log"
  local budget=$((460 - (SECONDS - started)))
  local extra=()
  [ "$dry_run" = 1 ] && extra=(--dry-run --epochs 2)
  "$python" benchmarks/gpu_check.py --data "$DATA" --out "$out/gpu_check.json" --budget-s "$budget" --work "$site/runs" \
    "${extra[@]}" "$@" >>"$out/gpu_check.log" 2>&1 || { echo "gpu_check.sh: gpu_check.py failed (see gpu_check.log)" >&2; tail -40 "$out/gpu_check.log" >&2; exit 1; }
  echo "gpu_check.sh: done in $((SECONDS - started)) s; figures in $out/gpu_check.json" | tee -a "$out/gpu_check.log"
  rm -rf "$site"
  exit "$tests"
}

case "${1:-}" in
  --prepare) prepare ;;
  --dry-run) shift; check 1 "$@" ;;
  *) check 0 "$@" ;;
esac
