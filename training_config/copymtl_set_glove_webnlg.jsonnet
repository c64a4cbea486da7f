// CopyMTL-Set on WebNLG with pretrained word vectors: the copy family's inputs (GloVe 6B 50d,
// fine-tuned, beside a trained 50d embedding), a 2-layer BiLSTM (300 a direction), and the set decoder: 10
// triplet slots, each reading the BiLSTM outputs by one multi-head attention and predicting a
// relation or NA and four pointers (head start / end, tail start / end; Eq. 10 scorers 300 wide),
// trained by Hungarian matching; validated and saved with a moving average of the weights.
// `make vectors` writes vectors/glove.6B.50d.txt (run from the repository root). Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/copymtl_set_glove_webnlg.jsonnet -s runs/set_glove
// Either WebNLG version: ../shared/data/webnlg_exact (the field's exact-match benchmark) or ../shared/data/webnlg.
local lib = import "copymtl.libsonnet";

lib.set_config(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  pretrained_file="vectors/glove.6B.50d.txt",
  embedding_dim=50,
  trainable_embedding_dim=50,
  hidden_size=300,
  encoder_layers=2,  // 0.820 / 0.821 dev strict F1 (seeds 77 / 78) against 0.802 / 0.799 with one layer
  pointer_hidden_size=300,  // Eq. 10's W_f: 0.827 / 0.840 (seeds 77 / 78) against 0.820 / 0.821 at 100
  dropout=0.4,
  word_dropout=0.1,
  batch_size=32,
  lr=0.001,
  grad_norm=5.0,
  num_epochs=60,
  // validate and save an exponential moving average of the weights: 0.848 / 0.840 (seeds 77 / 78)
  // against 0.827 / 0.840 without
  moving_average_decay=0.999,
)
