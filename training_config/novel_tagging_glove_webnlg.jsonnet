// NovelTagging (Zheng et al. 2017, LSTM-LSTM-Bias), a baseline of the paper's Table 1, on WebNLG
// with word vectors (`make vectors` first): GloVe 50d (fine-tuned) beside a trained 50d embedding.
// The published sizes: encoder 300 a direction, decoder 600, bias weight α 10. The project's
// choices (not published for WebNLG): dropout 0.3 (embeddings, encoder outputs, tag vectors),
// batch 32, Adam 0.001, 40 epochs. Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/novel_tagging_glove_webnlg.jsonnet -s runs/novel_tagging
local lib = import "copymtl.libsonnet";

lib.novel_tagging(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  pretrained_file="vectors/glove.6B.50d.txt",
  embedding_dim=50,
  trainable_embedding_dim=50,
  dropout=0.3,
)
