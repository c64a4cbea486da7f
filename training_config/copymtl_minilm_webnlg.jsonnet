// CopyMTL-One on WebNLG with a pretrained transformer: MiniLM-L6 (all-MiniLM-L6-v2, 6 layers, hidden
// 384) through AllenNLP's `pretrained_transformer_mismatched` embedder, fine-tuned at 5e-5 (the rest
// at 0.001) with a linear warm-up (one epoch) and decay to zero, gradients clipped at norm 5; the
// paper's averaged BiLSTM (H 300) on top; dropout 0.3 (embeddings, encoder outputs, decoder state);
// batch 32, 20 epochs; beam 4 and up to 8 triplets at inference.
// `make transformer` puts the model into this machine's Hugging Face cache; nothing is downloaded
// at run time, and the archive loads on any machine where `make transformer` ran. Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/copymtl_minilm_webnlg.jsonnet -s runs/minilm
// Either WebNLG version: ../shared/data/webnlg_exact (the field's exact-match benchmark) or ../shared/data/webnlg.
local lib = import "copymtl.libsonnet";

lib.config(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  system="copymtl_one",
  transformer="sentence-transformers/all-MiniLM-L6-v2",
  trainable_embedding_dim=50,  // cased words beside MiniLM-L6, which lower-cases (docs/results.md, "The set decoder")
  hidden_size=300,
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
