// CopyMTL-One on the project's demo corpus (fixtures/demo), small enough to train on a CPU in
// a few minutes: `make demo`.
local lib = import "copymtl.libsonnet";

lib.config(
  train="fixtures/demo/train.jsonl",
  validation="fixtures/demo/dev.jsonl",
  system="copymtl_one",
  embedding_dim=64,
  hidden_size=128,
  batch_size=32,
  num_epochs=8,
  seed=1,
)
