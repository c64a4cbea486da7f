// NovelTagging (Zheng et al. 2017, LSTM-LSTM-Bias) on NYT, randomly initialised 100d embeddings
// (as the family's NYT configs; `make vectors` restricts GloVe to the WebNLG vocabulary). The
// published sizes: encoder 300 a direction, decoder 600, bias weight α 10; the project's dropout
// 0.3, batch 32, Adam 0.001, 40 epochs. Data from the environment:
//   NYT_TRAIN_PATH=... NYT_DEV_PATH=... allennlp train training_config/novel_tagging_nyt.jsonnet -s runs/novel_tagging_nyt
local lib = import "copymtl.libsonnet";

lib.novel_tagging(
  train=std.extVar("NYT_TRAIN_PATH"),
  validation=std.extVar("NYT_DEV_PATH"),
  dropout=0.3,
)
