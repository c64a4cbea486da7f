import logging
import math
from typing import Any, Dict, List, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary

from copymtl_allennlp.data.namespaces import RELATION_NAMESPACE
from copymtl_allennlp.data.triplets import Span, Triplet
from copymtl_allennlp.metrics import TripletF1
from copymtl_allennlp.models.triplet_model import TripletModel

logger = logging.getLogger(__name__)


class TableFillingModel(TripletModel):
    """What the table-filling models (TPLinker, OneRel) share: a table of token pairs scored with
    a tag a cell, the weighted cell loss, the tables' limits and the decoding switch.

    A table grows with the square of the sentence: tokens past ``max_table_length`` are left out
    of the table (counted as ``truncated_sentences`` and logged); their triplets are lost, the
    rest of the sentence is decoded. A sentence's decoding stops at ``max_decoded_triplets``
    triplets (counted as ``capped_sentences`` and logged): an untrained or diverged model tags links
    everywhere, and every pair of its entity spans would be a triplet (millions on an 80-token
    sentence).

    ``positive_weight``: in the cross-entropy a cell whose tag is not ``O`` weighs this much, an
    ``O`` cell 1 (the papers: 1): the tagged cells are rare.

    ``decoding_o_weight`` (an inference switch, 1 by default): at decoding, each cell's ``O``
    probability is multiplied by it before the argmax (``log(decoding_o_weight)`` added to the ``O``
    score). Training with ``positive_weight`` w shifts the argmax towards the rare tags as if they
    were w times likelier; ``decoding_o_weight`` w takes that shift back (the decision of the
    unweighted posterior), values between trade recall for precision.
    """

    default_predictor = "copymtl"

    def __init__(
        self,
        vocab: Vocabulary,
        positive_weight: float = 1.0,
        max_table_length: int = 200,
        max_decoded_triplets: int = 100,
        decoding_o_weight: float = 1.0,
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if max_table_length < 1 or max_decoded_triplets < 1:
            raise ConfigurationError("max_table_length and max_decoded_triplets must be at least 1")
        if positive_weight <= 0:
            raise ConfigurationError(f"positive_weight must be positive, got {positive_weight}")
        if decoding_o_weight <= 0:
            raise ConfigurationError(f"decoding_o_weight must be positive, got {decoding_o_weight}")
        self.positive_weight = positive_weight
        self.decoding_o_weight = decoding_o_weight
        self.max_table_length = max_table_length
        self.max_decoded_triplets = max_decoded_triplets
        self.num_relations = vocab.get_vocab_size(RELATION_NAMESPACE)
        self._truncated = 0
        self._capped = 0
        self._triplet_f1 = TripletF1(known_relations=vocab.get_token_to_index_vocabulary(RELATION_NAMESPACE))

    def table_inputs(self, encoded: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The encoder outputs (batch, seq_len, dim) and mask cut to ``max_table_length`` tokens,
        the sentences cut counted at evaluation."""
        if encoded.size(1) <= self.max_table_length:
            return encoded, mask
        if not self.training:
            self._truncated += int((mask.sum(dim=1) > self.max_table_length).sum())
        return encoded[:, : self.max_table_length], mask[:, : self.max_table_length]

    def cell_loss(self, scores: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, class_dim: int = -1) -> torch.Tensor:
        """:func:`masked_cross_entropy` with the model's ``positive_weight``."""
        return masked_cross_entropy(scores, tags, mask, self.positive_weight, class_dim)

    def decoded_tags(self, scores: torch.Tensor, class_dim: int = -1) -> torch.Tensor:
        """The decoded tag of every cell of ``scores`` (classes on dimension ``class_dim``), ``O``
        (0) weighted by ``decoding_o_weight`` (class docstring)."""
        if self.decoding_o_weight != 1.0:
            scores = scores.clone()
            scores.select(class_dim, 0).add_(math.log(self.decoding_o_weight))
        return scores.argmax(class_dim)

    def output_triplets(self, output: Dict[str, Any], predicted: List[List[Tuple[int, Span, Span]]], metadata: List[Dict[str, Any]]) -> None:
        """Puts the decoded ``(relation index, head, tail)`` of each sentence into ``output`` as
        triplets (repeats removed), counts the sentences that reached ``max_decoded_triplets`` and
        scores them against the gold triplets."""
        self._capped += sum(len(sentence) >= self.max_decoded_triplets for sentence in predicted)
        output["triplets"] = [
            list(dict.fromkeys(Triplet(self.vocab.get_token_from_index(r, RELATION_NAMESPACE), head, tail) for r, head, tail in sentence))
            for sentence in predicted
        ]
        self._score_triplets(output, metadata)

    def other_metrics(self, reset: bool) -> Dict[str, float]:
        truncated, capped = self._truncated, self._capped
        if reset:
            if truncated:
                logger.warning("%d sentences longer than max_table_length %d: decoded on their first %d tokens", truncated, self.max_table_length, self.max_table_length)
            if capped:
                logger.warning("%d sentences reached max_decoded_triplets %d: their decoding stopped there", capped, self.max_decoded_triplets)
            self._truncated = self._capped = 0
        metrics = {"truncated_sentences": float(truncated)} if truncated else {}
        if capped:
            metrics["capped_sentences"] = float(capped)
        return metrics


def masked_cross_entropy(
    scores: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, positive_weight: float = 1.0, class_dim: int = -1
) -> torch.Tensor:
    """The cross-entropy of ``scores`` against ``tags`` over the cells where ``mask`` (the shape of
    ``tags``) is 1, a weighted mean: a cell whose tag is not ``O`` (0) weighs ``positive_weight``, an
    ``O`` cell 1 (torch's class weights). The classes are the last dimension of ``scores`` (...,
    classes) or, with ``class_dim`` k, its dimension k: ``scores`` (d_0 .. d_k-1, classes, d_k ..),
    ``tags`` (d_0 .. d_k-1, d_k ..), a layout in which torch's kernel runs several times faster on
    a CPU when the dimensions after the classes are wide."""
    class_dim %= scores.dim()
    if class_dim == scores.dim() - 1:
        classes = scores.size(-1)
        flat_scores, flat_tags = scores.reshape(-1, classes), tags.reshape(-1)
    else:
        classes = scores.size(class_dim)
        flat_scores = scores.reshape(math.prod(scores.shape[:class_dim]), classes, -1)
        flat_tags = tags.reshape(flat_scores.size(0), -1)
    class_weights = scores.new_full((classes,), positive_weight)
    class_weights[0] = 1.0
    losses = torch.nn.functional.cross_entropy(flat_scores, flat_tags, reduction="none").reshape(-1)
    weights = class_weights[tags.reshape(-1)] * mask.reshape(-1)
    return (losses * weights).sum() / weights.sum().clamp(min=1e-12)
