// NovelTagging, LSTM-LSTM-Bias (Zheng et al. 2017) on WebNLG with a pretrained transformer, for the
// comparison of the package's families on the same encoders (docs/results.md): MiniLM-L6
// (all-MiniLM-L6-v2) through AllenNLP's `pretrained_transformer_mismatched` embedder, fine-tuned at
// 5e-5 (the rest at 0.001) with a linear warm-up (one epoch) and decay to zero, gradients clipped at
// norm 5; the published sizes (BiLSTM 300 a direction, LSTM decoder 600, bias α 10); dropout 0.3,
// batch 32, 20 epochs.
// `make transformer` puts the model into this machine's Hugging Face cache; nothing is downloaded at
// run time. Data from the environment:
//   WEBNLG_TRAIN_PATH=... WEBNLG_DEV_PATH=... allennlp train training_config/novel_tagging_minilm_webnlg.jsonnet -s runs/novel_tagging_minilm
local lib = import "copymtl.libsonnet";

lib.novel_tagging(
  train=std.extVar("WEBNLG_TRAIN_PATH"),
  validation=std.extVar("WEBNLG_DEV_PATH"),
  transformer="sentence-transformers/all-MiniLM-L6-v2",
  trainable_embedding_dim=50,  // cased words beside MiniLM-L6, which lower-cases (docs/results.md, "The set decoder")
  dropout=0.3,
  warmup_steps=157,  // one epoch of WebNLG train at batch 32
  grad_norm=5.0,
  num_epochs=20,
)
