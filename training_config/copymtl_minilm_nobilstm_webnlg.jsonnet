// CopyMTL-One on WebNLG on MiniLM-L6 without the BiLSTM: the transformer's word vectors (384 wide)
// are the encoder outputs o_i that attention, copying and the CRF read, and the decoder (H 384)
// starts from their masked mean ("pooled_state" encoder). Everything else as copymtl_minilm_webnlg.jsonnet.
// `make transformer` puts the model into this machine's Hugging Face cache (nothing is downloaded at run time). Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/copymtl_minilm_nobilstm_webnlg.jsonnet -s runs/minilm_nobilstm
local lib = import "copymtl.libsonnet";

lib.config(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  system="copymtl_one",
  transformer="sentence-transformers/all-MiniLM-L6-v2",
  encoder="none",
  hidden_size=384,
  batch_size=32,
  dropout=0.3,
  decoder_dropout=0.3,
  na_loss="first",
  num_epochs=20,
  warmup_steps=157,  // one epoch of WebNLG train at batch 32
  grad_norm=5.0,
  beam_size=4,
  max_decoding_triplets=8,
)
