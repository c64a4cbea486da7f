#!/usr/bin/env bash
# Creates .venv with the locked AllenNLP stack and this package (editable). Idempotent: the lock is
# installed again only when requirements/lock.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
VENV=.venv
STAMP=$VENV/.lock-installed

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 needed, got {sys.version}"'

if [ ! -f "$STAMP" ] || ! cmp -s requirements/lock.txt "$STAMP"; then
  # The lock is complete, so --no-deps: allennlp's own pins cannot resolve on Python 3.11.
  "$VENV/bin/pip" install --quiet --no-deps -r requirements/lock.txt
  cp requirements/lock.txt "$STAMP"
fi
"$VENV/bin/pip" install --quiet --no-deps --no-build-isolation -e .

SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# allennlp-models' rc module asks nltk for punkt and wordnet on every command (no network here):
# empty data directories inside the venv satisfy the lookup.
mkdir -p "$VENV/nltk_data/tokenizers/punkt" "$VENV/nltk_data/corpora/wordnet"
# Deprecation warnings that fairscale 0.4.6 / allennlp 2.10.1 raise on torch 2.14 at import,
# before any plugin is loaded, filtered for every process of this venv.
cp scripts/copymtl_stack_warnings.pth "$SITE/"
"$VENV/bin/allennlp" test-install --include-package copymtl_allennlp >/dev/null 2>&1 \
  || { echo "install.sh: 'allennlp test-install' failed" >&2; exit 1; }
echo "install.sh: ready ($VENV)"
