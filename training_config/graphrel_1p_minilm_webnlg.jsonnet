// GraphRel-1p (Fu, Li and Ma 2019) on WebNLG with a pretrained transformer, for the comparison of the
// package's families on the same encoders (docs/results.md): MiniLM-L6 (all-MiniLM-L6-v2) through
// AllenNLP's `pretrained_transformer_mismatched` embedder, fine-tuned at 5e-5 (the rest at 0.001) with
// a linear warm-up (one epoch) and decay to zero, gradients clipped at norm 5; a 15d POS embedding
// (spaCy's en_core_web_sm); BiLSTM 128 a direction, two bi-GCN layers of 128, pair scorer 128;
// dropout 0.3, batch 32, 20 epochs.
// `make transformer` puts the model into this machine's Hugging Face cache; nothing is downloaded at
// run time. Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/graphrel_1p_minilm_webnlg.jsonnet -s runs/graphrel_1p_minilm
local lib = import "copymtl.libsonnet";

lib.graphrel(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  phases=1,
  transformer="sentence-transformers/all-MiniLM-L6-v2",
  trainable_embedding_dim=50,  // cased words beside MiniLM-L6, which lower-cases (docs/results.md, "The set decoder")
  dropout=0.3,
  warmup_steps=157,  // one epoch of WebNLG train at batch 32
  grad_norm=5.0,
  num_epochs=20,
)
