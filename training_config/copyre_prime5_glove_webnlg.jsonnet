// CopyRE'5 on WebNLG with pretrained word vectors: the family's best system on the field's WebNLG
// (docs/results.md, "Against the field"). GloVe 6B 50d, fine-tuned, beside a trained 50d embedding
// (100d in all, the paper's width); H 300; the length head completes entities (no CRF).
// Regularised for 80 epochs (dropout 0.4 on embeddings and encoder outputs, 0.3 on the decoder
// state the scorers read, 10% of the words read as unknown in training); beam search of width 4
// over the triplet sequence and up to 8 triplets at inference.
// `make vectors` writes vectors/glove.6B.50d.txt (run from the repository root). Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/copyre_prime5_glove_webnlg.jsonnet -s runs/prime5_glove
// Either WebNLG version: ../shared/data/webnlg_exact (the field's exact-match benchmark) or ../shared/data/webnlg.
// The paper's size: -o '{"model.encoder.hidden_size": 1000, "model.attention.vector_dim": 1000, "model.attention.matrix_dim": 1000}'.
// The paper's decoding: -o '{"model.beam_size": 1, "model.max_decoding_triplets": 5}'.
local lib = import "copymtl.libsonnet";

lib.config(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  system="copyre_prime5",
  pretrained_file="vectors/glove.6B.50d.txt",
  embedding_dim=50,
  trainable_embedding_dim=50,
  hidden_size=300,
  dropout=0.4,
  decoder_dropout=0.3,
  word_dropout=0.1,
  na_loss="first",
  num_epochs=80,
  beam_size=4,
  max_decoding_triplets=8,
)
