// Shared by every config of the model family: a system is a handful of switches.
//
// Paper hyper-parameters (Zeng et al. 2020): H 1000, embedding 100, batch 100, Adam 0.001,
// 40 epochs, 5 triplets, λ 1. `cuda_device` is left out: AllenNLP uses GPU 0 when one is visible.
{
  // The switches of each system of the paper (see CopyMTL's docstring).
  systems:: {
    copyre_one: {copy_scorer: "linear", mask_head_at_tail: true, tagging_head: false, multi: false, max_entity_length: 0},
    copyre_mul: {copy_scorer: "linear", mask_head_at_tail: true, tagging_head: false, multi: true, max_entity_length: 0},
    copyre_prime: {copy_scorer: "selu", mask_head_at_tail: false, tagging_head: false, multi: false, max_entity_length: 0},
    copyre_prime5: {copy_scorer: "selu", mask_head_at_tail: false, tagging_head: false, multi: false, max_entity_length: 10},
    copymtl_one: {copy_scorer: "selu", mask_head_at_tail: false, tagging_head: true, multi: false, max_entity_length: 0},
    copymtl_mul: {copy_scorer: "selu", mask_head_at_tail: false, tagging_head: true, multi: true, max_entity_length: 0},
  },

  config(
    train, validation, system="copymtl_one",
    embedding_dim=100, hidden_size=1000, copy_hidden_size=100, batch_size=100, lr=0.001,
    num_epochs=40, max_triplets=5, tagging_loss_weight=1.0, feeding="gold", gold_ratio=1.0,
    cell="lstm", dropout=0.0, decoder_dropout=0.0, word_dropout=0.0, seed=77, patience=null, pretrained_file=null, max_sentence_length=null,
    triplet_order="given", training_set_f1_sentences=0, na_loss="all",
    trainable_embedding_dim=0, freeze_pretrained=false, character_features=0,
    beam_size=1, max_decoding_triplets=null, block_repeated_triplets=false, max_entity_length=null, length_scorer="linear", entity_starts=null,
    copy_feedback="word",
    transformer=null, transformer_dim=384, transformer_lr=5e-5, transformer_max_length=512, encoder="bilstm",
    warmup_steps=0, grad_norm=null, separate_copied_word_embedding=false, amp=null,
  )::
    local s = $.systems[system] + (if max_entity_length == null then {} else {max_entity_length: max_entity_length});
    // Word embeddings: `embedding_dim` wide, from `pretrained_file` where one is given (GloVe text,
    // e.g. `make vectors`; its width must be embedding_dim), fine-tuned unless `freeze_pretrained`;
    // `trainable_embedding_dim` > 0 adds a randomly initialised, trained embedding of that width
    // beside it (two token embedders, concatenated); `character_features` > 0 adds a character CNN
    // (AllenNLP's `character_encoding`, 16-d characters, that many filters of width 3).
    // `transformer` (a Hugging Face model name that `make transformer` put into the local cache, e.g.
    // "sentence-transformers/all-MiniLM-L6-v2", or a local model folder): AllenNLP's
    // `pretrained_transformer_mismatched` indexer and embedder replace the word embedding (word-level
    // vectors, the mean of each word's wordpieces, so spans stay word spans), fine-tuned at
    // `transformer_lr` (the rest at `lr`); `transformer_dim` is its hidden size. Sentences longer than
    // `transformer_max_length` wordpieces are folded into segments of that length.
    // `encoder`: "bilstm" (the paper's averaged BiLSTM on top of the embeddings) or "none" (the
    // embeddings themselves, projected to `hidden_size` when the widths differ; the decoder starts
    // from their masked mean).
    // `separate_copied_word_embedding`: a copy step feeds the decoder the copied word's vector from a
    // trained word embedding of its own (indexer `copied_words`, as wide as the source embedding)
    // instead of the source embedder's vector (contextual with a transformer).
    // `warmup_steps` > 0: the learning rates rise linearly over that many batches, then fall linearly
    // to zero (AllenNLP's `linear_with_warmup`). `grad_norm`: gradient clipping (AllenNLP's trainer).
    local w = $.inputs(embedding_dim, pretrained_file, trainable_embedding_dim, character_features, freeze_pretrained, transformer, transformer_dim, transformer_max_length);
    local word_dim = w.dim;
    local extra_indexers = w.extra_indexers || separate_copied_word_embedding;
    {
      dataset_reader: {
        type: "copymtl",
        [if extra_indexers then "token_indexers"]: w.indexers + {
          [if separate_copied_word_embedding then "copied_words"]: {type: "single_id"},
        },
        max_triplets: max_triplets,
        max_sentence_length: max_sentence_length,
        triplet_order: triplet_order,
        seed: seed,
        entity_lengths: s.max_entity_length > 0,
      },
      // Evaluation data: every sentence and every gold triplet is kept.
      validation_dataset_reader: self.dataset_reader + {max_sentence_length: null},
      train_data_path: train,
      validation_data_path: validation,
      model: {
        type: "copymtl",
        source_embedder: w.embedder,
        [if separate_copied_word_embedding then "copied_word_embedder"]: {
          token_embedders: {copied_words: {type: "embedding", embedding_dim: word_dim, trainable: true}},
        },
        encoder: if encoder == "bilstm" then
          {type: "averaged_bidirectional", input_size: word_dim, hidden_size: hidden_size, cell: cell}
        else if encoder == "none" then
          {type: "pooled_state", input_size: word_dim, hidden_size: hidden_size, cell: cell}
        else error "encoder must be 'bilstm' or 'none', got " + encoder,
        attention: {type: "step_additive", vector_dim: hidden_size, matrix_dim: hidden_size},
        copy_scorer: s.copy_scorer,
        copy_hidden_size: copy_hidden_size,
        max_triplets: max_triplets,
        num_decoders: if s.multi then max_triplets else 1,
        mask_head_at_tail: s.mask_head_at_tail,
        tagging_head: s.tagging_head,
        tagging_loss_weight: tagging_loss_weight,
        max_entity_length: s.max_entity_length,
        feeding: feeding,
        gold_ratio: gold_ratio,
        // "all": L_D over the 5 triplets, NA padding included (the paper); "first": up to the first NA relation
        na_loss: na_loss,
        dropout: dropout,
        // dropout on the decoder state where the scorers read it; unknown-word replacement in training
        decoder_dropout: decoder_dropout,
        word_dropout: word_dropout,
        // decoding (read at inference only): beam search width; triplets decoded (null: max_triplets)
        beam_size: beam_size,
        max_decoding_triplets: max_decoding_triplets,
        // a tail step may not repeat a triplet already decoded for the sentence
        block_repeated_triplets: block_repeated_triplets,
        length_scorer: length_scorer,
        entity_starts: entity_starts,
        copy_feedback: copy_feedback,
      },
    } + $.training(
      batch_size=batch_size, lr=lr, num_epochs=num_epochs, seed=seed, patience=patience,
      warmup_steps=warmup_steps, grad_norm=grad_norm, training_set_f1_sentences=training_set_f1_sentences, amp=amp,
      parameter_groups=$.transformer_groups(transformer, transformer_lr),
    ),

  // The inputs of the copy family (CopyMTL, CopyMTL-Set): token indexers, the source embedder and
  // its output width, built from the switches that `config` documents (word vectors, a trained
  // embedding beside them, a character CNN, or a pretrained transformer).
  // `pos_dim` > 0 adds a POS-tag embedding of that width (spaCy's tags, as GraphRel reads them; the
  // reader's `part_of_speech` switch tags the tokens).
  inputs(embedding_dim, pretrained_file, trainable_embedding_dim, character_features, freeze_pretrained, transformer, transformer_dim, transformer_max_length, pos_dim=0)::
    // the model from this machine's files only (`make transformer` puts MiniLM into the Hugging Face
    // cache): never a download, and an archive loads wherever the model is installed
    local transformer_config = {model_name: transformer, max_length: transformer_max_length, tokenizer_kwargs: {local_files_only: true}};
    {
      indexers: {
        [if transformer == null then "tokens"]: {type: "single_id"},
        [if transformer != null then "transformer"]: {type: "pretrained_transformer_mismatched"} + transformer_config,
        [if trainable_embedding_dim > 0 then "trainable_tokens"]: {type: "single_id"},
        [if character_features > 0 then "token_characters"]: {type: "characters", min_padding_length: 3},
        [if pos_dim > 0 then "pos_tags"]: {type: "single_id", namespace: "pos_tokens", feature_name: "tag_"},
      },
      extra_indexers: transformer != null || trainable_embedding_dim > 0 || character_features > 0 || pos_dim > 0,
      embedder: {
        token_embedders: {
          [if transformer == null then "tokens"]:
            {type: "embedding", embedding_dim: embedding_dim, trainable: !freeze_pretrained}
            + (if pretrained_file == null then {} else {pretrained_file: pretrained_file}),
          [if transformer != null then "transformer"]:
            {type: "pretrained_transformer_mismatched", train_parameters: !freeze_pretrained, transformer_kwargs: {local_files_only: true}}
            + transformer_config,
          [if trainable_embedding_dim > 0 then "trainable_tokens"]:
            {type: "embedding", embedding_dim: trainable_embedding_dim, trainable: true},
          [if character_features > 0 then "token_characters"]: {
            type: "character_encoding",
            embedding: {embedding_dim: 16, vocab_namespace: "token_characters"},
            encoder: {type: "cnn", embedding_dim: 16, num_filters: character_features, ngram_filter_sizes: [3]},
          },
          [if pos_dim > 0 then "pos_tags"]: {type: "embedding", embedding_dim: pos_dim, vocab_namespace: "pos_tokens"},
        },
      },
      dim: (if transformer == null then embedding_dim else transformer_dim) + trainable_embedding_dim + character_features + pos_dim,
    },

  // CopyMTL-Set (model `copymtl_set`): the copy family's inputs (`inputs`, switches as in `config`;
  // `character_features`, `pos_dim` as measured in docs/results.md),
  // an encoder (`encoder`: "bilstm", AllenNLP's bidirectional LSTM of `hidden_size` a direction and
  // `encoder_layers` layers, outputs concatenated; or "none", the embeddings themselves), and the set
  // decoder: `num_slots` triplet slots read by `slot_reader` ("attention": one multi-head
  // cross-attention, `num_heads` heads, dropout `slot_dropout`; or "transformer": `slot_layers`
  // pre-norm layers, feed-forward `feedforward_dim`),
  // pointers scored by Eq. 10 with `pointer_hidden_size`, NA slots weighted `na_weight`, the CRF
  // tagging head an auxiliary loss with `tagging_head`. The reader keeps up to `num_slots` triplets a
  // sentence and gives entity lengths (the pointer targets' starts).
  set_config(
    train, validation, embedding_dim=100, pretrained_file=null, trainable_embedding_dim=0, character_features=0, pos_dim=0,
    freeze_pretrained=false, transformer=null, transformer_dim=384, transformer_lr=5e-5, transformer_max_length=512,
    encoder="bilstm", hidden_size=300, encoder_layers=1, num_slots=10, slot_reader="attention", slot_layers=3,
    num_heads=4, feedforward_dim=null, slot_dropout=0.1, pointer_hidden_size=100, na_weight=0.25,
    tagging_head=false, tagging_loss_weight=1.0, dropout=0.0, word_dropout=0.0,
    batch_size=32, lr=0.001, num_epochs=40, seed=77, patience=null, warmup_steps=0, grad_norm=null,
    max_sentence_length=null, amp=null, moving_average_decay=null,
  )::
    local w = $.inputs(embedding_dim, pretrained_file, trainable_embedding_dim, character_features, freeze_pretrained, transformer, transformer_dim, transformer_max_length, pos_dim);
    {
      dataset_reader: {
        type: "copymtl",
        [if w.extra_indexers then "token_indexers"]: w.indexers,
        [if pos_dim > 0 then "part_of_speech"]: true,
        max_triplets: num_slots,
        max_sentence_length: max_sentence_length,
        entity_lengths: true,
      },
      validation_dataset_reader: self.dataset_reader + {max_sentence_length: null},
      train_data_path: train,
      validation_data_path: validation,
      model: {
        type: "copymtl_set",
        source_embedder: w.embedder,
        encoder: if encoder == "bilstm" then
          {type: "lstm", input_size: w.dim, hidden_size: hidden_size, num_layers: encoder_layers, bidirectional: true}
        else if encoder == "none" then
          {type: "pass_through", input_dim: w.dim}
        else error "encoder must be 'bilstm' or 'none', got " + encoder,
        num_slots: num_slots,
        slot_reader: slot_reader,
        [if slot_reader == "transformer" then "num_layers"]: slot_layers,
        num_heads: num_heads,
        [if feedforward_dim != null then "feedforward_dim"]: feedforward_dim,
        slot_dropout: slot_dropout,
        pointer_hidden_size: pointer_hidden_size,
        na_weight: na_weight,
        tagging_head: tagging_head,
        tagging_loss_weight: tagging_loss_weight,
        dropout: dropout,
        word_dropout: word_dropout,
      },
    } + $.training(
      batch_size=batch_size, lr=lr, num_epochs=num_epochs, seed=seed, patience=patience,
      warmup_steps=warmup_steps, grad_norm=grad_norm, amp=amp, moving_average_decay=moving_average_decay,
      parameter_groups=$.transformer_groups(transformer, transformer_lr),
    ),

  // TPLinker (model `tplinker`, Wang et al. 2020): the copy family's inputs (`inputs`), a BiLSTM
  // (`hidden_size` a direction, outputs concatenated) or none, the handshaking kernel (`shaking_size`,
  // default the encoder's width) and the entity, head and tail taggers; `positive_weight` weighs the
  // rare tags in the cross-entropy (1: the paper), `loss_weight_recover_steps` the released code's
  // schedule; tokens past `max_table_length` are left out of the table (counted).
  tplinker_config(
    train, validation, embedding_dim=100, pretrained_file=null, trainable_embedding_dim=0, character_features=0, pos_dim=0,
    freeze_pretrained=false, transformer=null, transformer_dim=384, transformer_lr=5e-5, transformer_max_length=512,
    encoder="bilstm", hidden_size=300, encoder_layers=1, shaking_size=null, positive_weight=1.0,
    loss_weight_recover_steps=6000, max_table_length=200, dropout=0.0, word_dropout=0.0,
    batch_size=32, lr=0.001, num_epochs=40, seed=77, patience=null, warmup_steps=0, grad_norm=null,
    max_sentence_length=null, amp=null,
  )::
    local w = $.inputs(embedding_dim, pretrained_file, trainable_embedding_dim, character_features, freeze_pretrained, transformer, transformer_dim, transformer_max_length, pos_dim);
    {
      dataset_reader: {
        type: "table_filling",
        [if w.extra_indexers then "token_indexers"]: w.indexers,
        [if pos_dim > 0 then "part_of_speech"]: true,
        max_sentence_length: max_sentence_length,
      },
      validation_dataset_reader: self.dataset_reader + {max_sentence_length: null},
      train_data_path: train,
      validation_data_path: validation,
      model: {
        type: "tplinker",
        source_embedder: w.embedder,
        encoder: if encoder == "bilstm" then
          {type: "lstm", input_size: w.dim, hidden_size: hidden_size, num_layers: encoder_layers, bidirectional: true}
        else if encoder == "none" then
          {type: "pass_through", input_dim: w.dim}
        else error "encoder must be 'bilstm' or 'none', got " + encoder,
        [if shaking_size != null then "shaking_size"]: shaking_size,
        positive_weight: positive_weight,
        loss_weight_recover_steps: loss_weight_recover_steps,
        max_table_length: max_table_length,
        dropout: dropout,
        word_dropout: word_dropout,
      },
    } + $.training(
      batch_size=batch_size, lr=lr, num_epochs=num_epochs, seed=seed, patience=patience,
      warmup_steps=warmup_steps, grad_norm=grad_norm, amp=amp,
      parameter_groups=$.transformer_groups(transformer, transformer_lr),
    ),

  // OneRel (model `onerel`, Shang et al. 2022): the inputs and encoder of `tplinker_config`, then the
  // relation-specific horns tags of every ordered token pair, scored by the score-based classifier
  // (`pair_size` wide, default 3 x the encoder's width; `pair_dropout` on the pair projections);
  // the reader counts the gold triplets the tags do not decode back to (`tag_scheme: "horns"`).
  onerel_config(
    train, validation, embedding_dim=100, pretrained_file=null, trainable_embedding_dim=0, character_features=0, pos_dim=0,
    freeze_pretrained=false, transformer=null, transformer_dim=384, transformer_lr=5e-5, transformer_max_length=512,
    encoder="bilstm", hidden_size=300, encoder_layers=1, pair_size=null, pair_dropout=0.0, positive_weight=1.0,
    max_table_length=200, dropout=0.0, word_dropout=0.0,
    batch_size=32, lr=0.001, num_epochs=40, seed=77, patience=null, warmup_steps=0, grad_norm=null,
    max_sentence_length=null, amp=null,
  )::
    local base = $.tplinker_config(
      train, validation, embedding_dim, pretrained_file, trainable_embedding_dim, character_features, pos_dim,
      freeze_pretrained, transformer, transformer_dim, transformer_lr, transformer_max_length,
      encoder, hidden_size, encoder_layers, positive_weight=positive_weight, max_table_length=max_table_length,
      dropout=dropout, word_dropout=word_dropout, batch_size=batch_size, lr=lr, num_epochs=num_epochs, seed=seed,
      patience=patience, warmup_steps=warmup_steps, grad_norm=grad_norm, max_sentence_length=max_sentence_length, amp=amp,
    );
    base + {
      dataset_reader+: {tag_scheme: "horns"},
      model: {
        [k]: base.model[k] for k in std.objectFields(base.model) if !std.member(["loss_weight_recover_steps", "shaking_size"], k)
      } + {
        type: "onerel",
        [if pair_size != null then "pair_size"]: pair_size,
        pair_dropout: pair_dropout,
      },
    },

  // What every config shares (the CopyMTL family and the baselines): data loaders, optimizer,
  // schedule, callbacks and seeds.
  // `amp`: null (float32) or "bfloat16" / "float16": mixed-precision training on a GPU (the
  // trainer "mixed_precision", copymtl_allennlp/training/mixed_precision.py; float32 on a CPU).
  // `moving_average_decay`: null, or validate and save an exponential moving average of the weights
  // with this decay (`exponential_recoverable`: AllenNLP's average, exact under --recover;
  // copymtl_allennlp/training/moving_average.py).
  training(batch_size, lr, num_epochs, seed, patience=null, warmup_steps=0, grad_norm=null, training_set_f1_sentences=0, parameter_groups=null, amp=null, moving_average_decay=null):: {
      // Length buckets: sentences of similar length share a batch (random batches of WebNLG
      // train are 60% padding; bucketed ones 3%). Batch order and bucket noise are seeded.
      data_loader: {batch_sampler: {type: "bucket", batch_size: batch_size, sorting_keys: ["source_tokens"]}},
      validation_data_loader: {batch_sampler: {type: "bucket", batch_size: batch_size, sorting_keys: ["source_tokens"], shuffle: false}},
      trainer: {
        // AllenNLP's gradient_descent, with mixed precision on a GPU when `amp` is given and an
        // unknown key of this section an error that names it (gradient_descent would drop it)
        type: "mixed_precision",
        [if amp != null then "amp_dtype"]: amp,
        // Adam; "fused_adam" is torch's one-pass implementation of the same update (2-3x faster step)
        optimizer: {type: "fused_adam", lr: lr} + (if parameter_groups == null then {} else {parameter_groups: parameter_groups}),
        [if warmup_steps > 0 then "learning_rate_scheduler"]: {type: "linear_with_warmup", warmup_steps: warmup_steps},
        [if grad_norm != null then "grad_norm"]: grad_norm,
        [if moving_average_decay != null then "moving_average"]: {type: "exponential_recoverable", decay: moving_average_decay},
        num_epochs: num_epochs,
        validation_metric: "+f1",
        [if patience != null then "patience"]: patience,
        // glibc keeps freed memory for reuse (faster training; copymtl_allennlp/allocator.py); the
        // training curve of Fig. 4 (F1 on a sample of the training set after each epoch); the
        // random-number state saved in each checkpoint, so that --recover ends where an
        // uninterrupted run ends (last: it records the state after the other callbacks); the model card
        // at the end of training
        callbacks: [{type: "keep_freed_memory"}] + (if training_set_f1_sentences > 0 then [
          {type: "training_set_f1", max_sentences: training_set_f1_sentences},
        ] else []) + [{type: "model_card"}, {type: "random_state_checkpoint"}],
      },
      // the model card (copymtl_allennlp/training/model_card.py), written by the model_card callback
      include_in_archive: ["model_card.json"],
      // The vocabulary (words, characters, POS tags, relations) comes from the training data alone:
      // dev and test words are unknown words to the model (`--extend-vocab` gives them their
      // pretrained vectors at evaluation; docs/results.md, "Training-only vocabulary").
      datasets_for_vocab_creation: ["train"],
      random_seed: seed,
      numpy_seed: seed,
      pytorch_seed: seed,
    },

  // Word embeddings of the baselines: `embedding_dim` wide, from `pretrained_file` (a GloVe text
  // file, e.g. `make vectors`) where one is given, fine-tuned; `trainable_embedding_dim` > 0 adds a
  // randomly initialised, trained embedding beside it (as the CopyMTL configs build them).
  words(embedding_dim, pretrained_file=null, trainable_embedding_dim=0):: {
    indexers: {tokens: {type: "single_id"}} + (if trainable_embedding_dim > 0 then {trainable_tokens: {type: "single_id"}} else {}),
    embedder: {
      token_embedders: {
        tokens: {type: "embedding", embedding_dim: embedding_dim}
          + (if pretrained_file == null then {} else {pretrained_file: pretrained_file}),
        [if trainable_embedding_dim > 0 then "trainable_tokens"]: {type: "embedding", embedding_dim: trainable_embedding_dim},
      },
    },
    dim: embedding_dim + trainable_embedding_dim,
  },

  // The baselines' inputs: word embeddings (`words`) or, with `transformer`, the copy family's
  // transformer inputs (`inputs`: MiniLM through `pretrained_transformer_mismatched`, fine-tuned at
  // `transformer_lr`), so that every family runs on the same two encoders.
  baseline_words(embedding_dim, pretrained_file, trainable_embedding_dim, transformer, transformer_dim, transformer_max_length)::
    if transformer == null then $.words(embedding_dim, pretrained_file, trainable_embedding_dim)
    else $.inputs(embedding_dim, null, trainable_embedding_dim, 0, false, transformer, transformer_dim, transformer_max_length),

  // the transformer's own learning rate (a parameter group), where there is a transformer: its own
  // weights at `transformer_lr`; everything else, a layer mix's scalar weights (the embedder's
  // `last_layer_only: false`) included, at the optimizer's `lr`
  transformer_groups(transformer, transformer_lr)::
    if transformer == null then null
    else [[["^source_embedder\\.token_embedder_transformer\\._matched_embedder\\.transformer_model\\."], {lr: transformer_lr}]],

  // NovelTagging, LSTM-LSTM-Bias (Zheng et al. 2017): a BiLSTM encoder (`encoder_size` a
  // direction), the LSTM tagging decoder (`decoder_size`), the bias objective (`bias_weight`, α).
  // Published: encoder 300, decoder 600, α 10 (their embeddings: 300d word2vec trained on NYT).
  novel_tagging(
    train, validation, embedding_dim=100, pretrained_file=null, trainable_embedding_dim=0,
    encoder_size=300, decoder_size=600, bias_weight=10.0, dropout=0.0,
    batch_size=32, lr=0.001, num_epochs=40, seed=77, max_sentence_length=null, amp=null,
    transformer=null, transformer_dim=384, transformer_lr=5e-5, transformer_max_length=512, warmup_steps=0, grad_norm=null,
  )::
    local w = $.baseline_words(embedding_dim, pretrained_file, trainable_embedding_dim, transformer, transformer_dim, transformer_max_length);
    {
      dataset_reader: {type: "novel_tagging", token_indexers: w.indexers, max_sentence_length: max_sentence_length},
      validation_dataset_reader: self.dataset_reader + {max_sentence_length: null},
      train_data_path: train,
      validation_data_path: validation,
      model: {
        type: "novel_tagging",
        source_embedder: w.embedder,
        encoder: {type: "lstm", input_size: w.dim, hidden_size: encoder_size, bidirectional: true},
        decoder_hidden_size: decoder_size,
        bias_weight: bias_weight,
        dropout: dropout,
      },
    } + $.training(
      batch_size=batch_size, lr=lr, num_epochs=num_epochs, seed=seed, amp=amp, warmup_steps=warmup_steps, grad_norm=grad_norm,
      parameter_groups=$.transformer_groups(transformer, transformer_lr),
    ),

  // GraphRel (Fu, Li and Ma 2019), `phases` 1 (GraphRel-1p) or 2 (GraphRel-2p): word embeddings
  // and a `pos_dim` POS embedding (spaCy's tags, read by the reader), a BiLSTM (`encoder_size` a
  // direction), `gcn_layers` bi-GCN layers (`gcn_size` a direction), the pair scorer
  // (`relation_size`), the relation-weighted GCN in the 2nd phase.
  graphrel(
    train, validation, phases=2, embedding_dim=100, pretrained_file=null, trainable_embedding_dim=0, pos_dim=15,
    encoder_size=128, gcn_size=128, gcn_layers=2, relation_size=128, second_phase_weight=1.0,
    relation_inference="average", dropout=0.0, batch_size=32, lr=0.001, num_epochs=40, seed=77, max_sentence_length=null, amp=null,
    transformer=null, transformer_dim=384, transformer_lr=5e-5, transformer_max_length=512, warmup_steps=0, grad_norm=null,
  )::
    local w = $.baseline_words(embedding_dim, pretrained_file, trainable_embedding_dim, transformer, transformer_dim, transformer_max_length);
    local pos = {type: "single_id", namespace: "pos_tokens", feature_name: "tag_"};
    {
      dataset_reader: {type: "graphrel", token_indexers: w.indexers + {pos_tags: pos}, max_sentence_length: max_sentence_length},
      validation_dataset_reader: self.dataset_reader + {max_sentence_length: null},
      train_data_path: train,
      validation_data_path: validation,
      model: {
        type: "graphrel",
        source_embedder: w.embedder + {
          token_embedders+: {pos_tags: {type: "embedding", embedding_dim: pos_dim, vocab_namespace: "pos_tokens"}},
        },
        encoder: {type: "lstm", input_size: w.dim + pos_dim, hidden_size: encoder_size, bidirectional: true},
        gcn_size: gcn_size,
        gcn_layers: gcn_layers,
        relation_size: relation_size,
        phases: phases,
        second_phase_weight: second_phase_weight,
        relation_inference: relation_inference,
        dropout: dropout,
      },
    } + $.training(
      batch_size=batch_size, lr=lr, num_epochs=num_epochs, seed=seed, amp=amp, warmup_steps=warmup_steps, grad_norm=grad_norm,
      parameter_groups=$.transformer_groups(transformer, transformer_lr),
    ),
}
