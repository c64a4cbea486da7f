// GraphRel-2p (Fu, Li and Ma 2019), a baseline of the paper's Table 1, on WebNLG with word vectors (`make vectors` first): GloVe 50d (fine-tuned) beside a trained 50d
// embedding and a 15d POS embedding; POS tags and dependency trees from spaCy's
// en_core_web_sm (installed by `make install`). The project's sizes: BiLSTM 128 a direction, two bi-GCN
// layers of 128 a direction, pair scorer 128; dropout 0.3, batch 32, Adam 0.001, 40 epochs.
// Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/graphrel_2p_glove_webnlg.jsonnet -s runs/graphrel_2p_glove_webnlg
local lib = import "copymtl.libsonnet";

lib.graphrel(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  phases=2,
  pretrained_file="vectors/glove.6B.50d.txt",
  embedding_dim=50,
  trainable_embedding_dim=50,
  dropout=0.3,
)
