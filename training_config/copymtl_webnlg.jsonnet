// CopyMTL-One on WebNLG at the paper's settings: H 1000, embedding 100, batch 100, Adam 0.001, 40 epochs,
// 5 triplets, λ 1, no dropout, the decoder loss over all 5 triplets (NA padding included), greedy
// decoding (tests/test_configs.py checks each). `copymtl_tuned_webnlg.jsonnet` is the same system tuned here.
// Data: canonical JSONL (or any format the reader detects) from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/copymtl_webnlg.jsonnet -s runs/copymtl_webnlg
local lib = import "copymtl.libsonnet";

lib.config(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  system="copymtl_one",
)
