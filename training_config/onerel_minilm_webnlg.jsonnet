// OneRel (Shang et al. 2022) on WebNLG with a pretrained transformer: MiniLM-L6 through AllenNLP's
// `pretrained_transformer_mismatched` embedder (fine-tuned at 5e-5, the rest at 0.001, a linear
// warm-up over one epoch and decay to zero, gradients clipped at 5), a BiLSTM (300 a direction) on
// top, the relation-specific horns tags of every ordered token pair (pairs projected to 300, not
// the paper's 3 x 600, for this CPU: docs/model.md); the tagged cells weighted 10 (the paper: 1).
// `make transformer` puts the model into this machine's Hugging Face cache. Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/onerel_minilm_webnlg.jsonnet -s runs/onerel_minilm
local lib = import "copymtl.libsonnet";

lib.onerel_config(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  transformer="sentence-transformers/all-MiniLM-L6-v2",
  trainable_embedding_dim=50,  // cased words beside MiniLM-L6, which lower-cases (docs/results.md, "The set decoder")
  hidden_size=300,
  pair_size=300,
  pair_dropout=0.1,
  positive_weight=10.0,
  dropout=0.3,
  batch_size=8,
  lr=0.001,
  warmup_steps=628,  // one epoch of WebNLG train at batch 8
  grad_norm=5.0,
  num_epochs=20,
)
