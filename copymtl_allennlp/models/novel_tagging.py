from typing import Any, Dict, List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import Seq2SeqEncoder, TextFieldEmbedder
from allennlp.nn import InitializerApplicator, util

from copymtl_allennlp.data.namespaces import NOVEL_TAG_NAMESPACE
from copymtl_allennlp.data.novel_tags import OUTSIDE, split_tag, triplets_from_tags
from copymtl_allennlp.metrics import TripletF1
from copymtl_allennlp.models.triplet_model import TripletModel
from copymtl_allennlp.modules.lstm_tag_decoder import LstmTagDecoder


@Model.register("novel_tagging")
class NovelTagging(TripletModel):
    """NovelTagging's best model, LSTM-LSTM-Bias (Zheng et al. 2017), a baseline of the paper's
    Table 1: word embeddings, a BiLSTM encoder (``encoder``), the LSTM tagging decoder
    (:class:`LstmTagDecoder`: the previous token's tag vector fed back), a softmax over the tags of
    :mod:`copymtl_allennlp.data.novel_tags`, and the bias objective (their Eq. 9)

        L = - Σ_sentences Σ_t  w_t · log p(y_t = gold tag),   w_t = 1 for ``O``, ``bias_weight`` (α) otherwise,

    averaged over the sentences of the batch (padding excluded). α is 10 in the paper.

    Prediction: the most probable tag of each token, then triplets by the nearest principle
    (:func:`~copymtl_allennlp.data.novel_tags.triplets_from_tags`). The metric is the package's
    :class:`TripletF1` against every gold triplet, also those the scheme could not tag. Gold
    triplets of a relation that training never saw are counted in recall and reported as
    ``unseen_relation_triplets``; their tags are read as ``O`` in the loss.
    """

    default_predictor = "copymtl"

    tag_namespace = NOVEL_TAG_NAMESPACE
    tags_output_key = "novel_tags"

    def __init__(
        self,
        vocab: Vocabulary,
        source_embedder: TextFieldEmbedder,
        encoder: Seq2SeqEncoder,
        decoder_hidden_size: int = 600,
        tag_vector_dim: Optional[int] = None,
        bias_weight: float = 10.0,
        dropout: float = 0.0,
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if encoder.get_input_dim() != source_embedder.get_output_dim():
            raise ConfigurationError(
                f"the encoder reads {encoder.get_input_dim()} dimensions, the embedder gives {source_embedder.get_output_dim()}"
            )
        if bias_weight <= 0:
            raise ConfigurationError(f"bias_weight must be positive, got {bias_weight}")
        self.source_embedder = source_embedder
        self.encoder = encoder
        self.num_tags = vocab.get_vocab_size(NOVEL_TAG_NAMESPACE)
        self.decoder = LstmTagDecoder(
            encoder.get_output_dim(), decoder_hidden_size, tag_vector_dim or decoder_hidden_size, self.num_tags, dropout
        )
        self.dropout = torch.nn.Dropout(dropout)
        self.bias_weight = bias_weight
        self._outside = vocab.get_token_index(OUTSIDE, NOVEL_TAG_NAMESPACE)
        tags = vocab.get_token_to_index_vocabulary(NOVEL_TAG_NAMESPACE)
        self._triplet_f1 = TripletF1(known_relations={split_tag(tag)[1] for tag in tags if tag != OUTSIDE})
        initializer(self)

    def forward(
        self, source_tokens: TextFieldTensors, metadata: List[Dict[str, Any]], tags: Optional[torch.Tensor] = None
    ) -> Dict[str, Any]:
        # shape: (batch_size, seq_len)
        mask = util.get_text_field_mask(source_tokens)
        embedded = self.dropout(self.source_embedder(source_tokens))
        encoded = self.dropout(self.encoder(embedded, mask))
        # shape: (batch_size, seq_len, num_tags)
        scores = self.decoder(encoded, mask)
        output: Dict[str, Any] = {}
        if tags is not None:
            output["loss"] = self.bias_loss(scores, tags, mask)
            if self.training:
                return output
        # shape: (batch_size, seq_len)
        predicted = scores.argmax(dim=-1).masked_fill(~mask, self._outside)
        output["predicted_tags"] = predicted
        output["triplets"] = [
            triplets_from_tags(self.tag_names(row[: len(m["tokens"])])) for row, m in zip(predicted.tolist(), metadata)
        ]
        self._score_triplets(output, metadata)
        return output

    def bias_loss(self, scores: torch.Tensor, tags: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        """The bias objective (the class docstring): weighted negative log-likelihood of the gold
        tags, summed over a sentence's tokens, averaged over the sentences."""
        # shape: (batch_size, seq_len)
        log_likelihood = torch.log_softmax(scores, dim=-1).gather(-1, tags.unsqueeze(-1)).squeeze(-1)
        weights = torch.where(tags == self._outside, 1.0, self.bias_weight) * mask
        return -(log_likelihood * weights).sum(dim=1).mean()
