// OneRel (Shang et al. 2022) on WebNLG with pretrained word vectors, on the copy family's inputs:
// GloVe 6B 50d (fine-tuned) beside a trained 50d embedding, a BiLSTM (300 a direction), and the
// relation-specific horns tags of every ordered token pair scored by the score-based classifier
// (pairs projected to 300, not the paper's 3 x 600, for this CPU: docs/model.md); the tagged
// cells weighted 10 in the cross-entropy (the paper: 1); batch 8, 30 epochs.
// `make vectors` writes vectors/glove.6B.50d.txt (run from the repository root). Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/onerel_glove_webnlg.jsonnet -s runs/onerel_glove
local lib = import "copymtl.libsonnet";

lib.onerel_config(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  pretrained_file="vectors/glove.6B.50d.txt",
  embedding_dim=50,
  trainable_embedding_dim=50,
  hidden_size=300,
  pair_size=300,
  pair_dropout=0.1,
  positive_weight=10.0,
  dropout=0.3,
  word_dropout=0.1,
  batch_size=8,
  lr=0.001,
  grad_norm=5.0,
  num_epochs=30,
)
