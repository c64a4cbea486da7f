// CopyMTL-One on WebNLG with pretrained word vectors (the paper's setting) and the choices that won on
// dev (docs/results.md, "Against the field"): GloVe 6B 50d, fine-tuned, beside a trained 50d embedding
// (100d in all, the paper's width); 80 epochs; beam search of width 4 over the triplet sequence and up
// to 8 triplets decoded at inference.
// `make vectors` writes vectors/glove.6B.50d.txt (run from the repository root). Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/copymtl_glove_webnlg.jsonnet -s runs/glove
// Either WebNLG version: ../shared/data/webnlg_exact (the field's exact-match benchmark) or ../shared/data/webnlg.
// The paper's decoding: -o '{"model.beam_size": 1, "model.max_decoding_triplets": 5}'.
local lib = import "copymtl.libsonnet";

lib.config(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  system="copymtl_one",
  pretrained_file="vectors/glove.6B.50d.txt",
  embedding_dim=50,
  trainable_embedding_dim=50,
  dropout=0.3,
  na_loss="first",
  num_epochs=80,
  beam_size=4,
  max_decoding_triplets=8,
)
