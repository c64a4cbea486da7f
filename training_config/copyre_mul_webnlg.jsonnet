// CopyRE-Mul on WebNLG, the paper's hyper-parameters (see copymtl.libsonnet).
// Data: canonical JSONL (or any format the reader detects) from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/copyre_mul_webnlg.jsonnet -s runs/copyre_mul_webnlg
local lib = import "copymtl.libsonnet";

lib.config(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  system="copyre_mul",
)
