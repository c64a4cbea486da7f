// CopyRE' on NYT, the paper's hyper-parameters (see copymtl.libsonnet).
// Data: canonical JSONL (or any format the reader detects) from the environment:
//   NYT_TRAIN_PATH=... NYT_DEV_PATH=... allennlp train training_config/copyre_prime_nyt.jsonnet -s runs/copyre_prime_nyt
local lib = import "copymtl.libsonnet";

lib.config(
  train=std.extVar("NYT_TRAIN_PATH"),
  validation=std.extVar("NYT_DEV_PATH"),
  system="copyre_prime",
)
