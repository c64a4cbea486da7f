// GraphRel-2p (Fu, Li and Ma 2019), a baseline of the paper's Table 1, on NYT, randomly initialised 100d word embeddings (as the family's NYT configs)
// and a 15d POS embedding; POS tags and dependency trees from spaCy's
// en_core_web_sm (installed by `make install`). The project's sizes: BiLSTM 128 a direction, two bi-GCN
// layers of 128 a direction, pair scorer 128; dropout 0.3, batch 32, Adam 0.001, 40 epochs.
// Data from the environment:
//   NYT_TRAIN_PATH=... NYT_DEV_PATH=... allennlp train training_config/graphrel_2p_nyt.jsonnet -s runs/graphrel_2p_nyt
local lib = import "copymtl.libsonnet";

lib.graphrel(
  train=std.extVar("NYT_TRAIN_PATH"),
  validation=std.extVar("NYT_DEV_PATH"),
  phases=2,
  dropout=0.3,
)
