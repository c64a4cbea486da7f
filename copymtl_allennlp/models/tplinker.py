import logging
import math
from typing import Any, Dict, List, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import Seq2SeqEncoder, TextFieldEmbedder
from allennlp.nn import InitializerApplicator

from copymtl_allennlp.data.namespaces import RELATION_NAMESPACE
from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.metrics import TripletF1
from copymtl_allennlp.models.triplet_model import TripletModel
from copymtl_allennlp.modules.handshaking import ENTITY_TAGS, HEAD_TAGS, TAIL_TAGS, HandshakingKernel, decode_handshaking, handshaking_tags
from copymtl_allennlp.modules.precision import at_least_float32

logger = logging.getLogger(__name__)


@Model.register("tplinker")
class TPLinker(TripletModel):
    """TPLinker (Wang et al., COLING 2020): one-stage joint extraction by handshaking tagging over
    the token pairs of a sentence (the tag scheme, both ways, in
    :mod:`~copymtl_allennlp.modules.handshaking`), on the package's embedders and encoders.

    The encoder outputs pass the handshaking kernel (``h_ij = tanh(W_h [h_i; h_j] + b_h)``, width
    ``shaking_size``, default the encoder's output width), then three taggers score every pair:
    the entity tag (2 classes), and for each relation the head tag and the tail tag (3 classes
    each; one linear layer per relation, as the paper's). Loss: the cross-entropy of each tag set,
    averaged over the pairs of the batch (every relation's cell for head and tail; a cell with a
    tag other than ``O`` weighs ``positive_weight``, 1 in the paper: the rare links against the
    sea of ``O`` cells), weighted as the released code does: ``L = w_ent L_ent + w_rel (L_head + L_tail)`` with
    ``w_ent = max(1/z + 1 - s/S, 1/z)``, ``w_rel = min((R/z) s/S, R/z)``, ``z = 2R + 1`` at
    training step ``s`` and ``S = loss_weight_recover_steps``: the entity tags, learnt first, then
    hand the weight to the rare relation links. The step count is a buffer of the model, so a
    recovered run continues the schedule.

    A table grows with the square of the sentence: tokens past ``max_table_length`` are left out
    of the table (counted as ``truncated_sentences`` and logged); their triplets are lost, the
    rest of the sentence is decoded. A sentence's decoding stops at ``max_decoded_triplets``
    triplets (counted as ``capped_sentences`` and logged): an untrained or diverged model tags links
    everywhere, and every pair of its entity spans would be a triplet (millions on an 80-token
    sentence).

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
        source_embedder: TextFieldEmbedder,
        encoder: Seq2SeqEncoder,
        shaking_size: Optional[int] = None,
        dropout: float = 0.0,
        word_dropout: float = 0.0,
        loss_weight_recover_steps: int = 6000,
        positive_weight: float = 1.0,
        max_table_length: int = 200,
        max_decoded_triplets: int = 100,
        decoding_o_weight: float = 1.0,
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if loss_weight_recover_steps < 1 or max_table_length < 1 or max_decoded_triplets < 1:
            raise ConfigurationError("loss_weight_recover_steps, max_table_length and max_decoded_triplets must be at least 1")
        if positive_weight <= 0:
            raise ConfigurationError(f"positive_weight must be positive, got {positive_weight}")
        if decoding_o_weight <= 0:
            raise ConfigurationError(f"decoding_o_weight must be positive, got {decoding_o_weight}")
        self.positive_weight = positive_weight
        self.decoding_o_weight = decoding_o_weight
        self.set_encoder(source_embedder, encoder, dropout, word_dropout)
        self.num_relations = vocab.get_vocab_size(RELATION_NAMESPACE)
        shaking_size = shaking_size or encoder.get_output_dim()
        self.kernel = HandshakingKernel(encoder.get_output_dim(), shaking_size)
        self.entity_tagger = torch.nn.Linear(shaking_size, len(ENTITY_TAGS))
        # one linear layer a relation, stacked into one (the same function, one product)
        self.head_tagger = torch.nn.Linear(shaking_size, self.num_relations * len(HEAD_TAGS))
        self.tail_tagger = torch.nn.Linear(shaking_size, self.num_relations * len(TAIL_TAGS))
        self.loss_weight_recover_steps = loss_weight_recover_steps
        self.max_table_length = max_table_length
        self.max_decoded_triplets = max_decoded_triplets
        self.register_buffer("training_steps", torch.zeros((), dtype=torch.long))
        self._truncated = 0
        self._capped = 0
        self._triplet_f1 = TripletF1(known_relations=vocab.get_token_to_index_vocabulary(RELATION_NAMESPACE))
        initializer(self)

    def loss_weights(self) -> Tuple[float, float]:
        """``(w_ent, w_rel)`` at the current training step (class docstring)."""
        z = 2 * self.num_relations + 1
        progress = int(self.training_steps) / self.loss_weight_recover_steps
        return max(1 / z + 1 - progress, 1 / z), min(self.num_relations / z * progress, self.num_relations / z)

    def forward(
        self,
        source_tokens: TextFieldTensors,
        metadata: List[Dict[str, Any]],
        target_relations: Optional[torch.Tensor] = None,
        target_spans: Optional[torch.Tensor] = None,
    ) -> Dict[str, Any]:
        # shape: (batch_size, seq_len, encoder_dim), (batch_size, seq_len)
        encoded, full_mask = self.encode(source_tokens)
        mask: torch.Tensor = full_mask
        if encoded.size(1) > self.max_table_length:
            if not self.training:
                self._truncated += int((mask.sum(dim=1) > self.max_table_length).sum())
            encoded, mask = encoded[:, : self.max_table_length], mask[:, : self.max_table_length]
        seq_len = encoded.size(1)
        # shape: (batch_size, num_pairs, shaking_size), (batch_size, num_pairs)
        pairs, pair_mask = self.kernel(encoded, mask)
        pairs = self.dropout(pairs)
        batch_size, num_pairs, _ = pairs.shape
        entity_scores = at_least_float32(self.entity_tagger(pairs))
        # shape: (batch_size, num_pairs, num_relations, 3)
        head_scores = at_least_float32(self.head_tagger(pairs)).view(batch_size, num_pairs, self.num_relations, len(HEAD_TAGS))
        tail_scores = at_least_float32(self.tail_tagger(pairs)).view(batch_size, num_pairs, self.num_relations, len(TAIL_TAGS))

        output: Dict[str, Any] = {}
        if target_relations is not None and target_spans is not None:
            entity_tags, head_tags, tail_tags = handshaking_tags(target_relations, target_spans, seq_len, self.num_relations)
            weights = pair_mask.float()
            entity_loss = _masked_cross_entropy(entity_scores, entity_tags, weights, self.positive_weight)
            relation_weights = weights.unsqueeze(2).expand(-1, -1, self.num_relations)
            head_loss = _masked_cross_entropy(head_scores, head_tags, relation_weights, self.positive_weight)
            tail_loss = _masked_cross_entropy(tail_scores, tail_tags, relation_weights, self.positive_weight)
            w_entity, w_relation = self.loss_weights()
            output["loss"] = w_entity * entity_loss + w_relation * (head_loss + tail_loss)
            if self.training:
                self.training_steps += 1
                return output
        lengths = mask.sum(dim=1).tolist()
        predicted = decode_handshaking(
            self._tags(entity_scores) * pair_mask,
            self._tags(head_scores) * pair_mask.unsqueeze(2),
            self._tags(tail_scores) * pair_mask.unsqueeze(2),
            lengths,
            self.max_decoded_triplets,
        )
        self._capped += sum(len(sentence) >= self.max_decoded_triplets for sentence in predicted)
        output["triplets"] = [
            list(dict.fromkeys(Triplet(self.vocab.get_token_from_index(r, RELATION_NAMESPACE), head, tail) for r, head, tail in sentence))
            for sentence in predicted
        ]
        self._score_triplets(output, metadata)
        return output

    def _tags(self, scores: torch.Tensor) -> torch.Tensor:
        """The decoded tag of every cell of ``scores`` (..., classes), ``O`` (0) weighted by
        ``decoding_o_weight`` (class docstring)."""
        if self.decoding_o_weight != 1.0:
            scores = scores.clone()
            scores[..., 0] += math.log(self.decoding_o_weight)
        return scores.argmax(-1)

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


def _masked_cross_entropy(scores: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, positive_weight: float = 1.0) -> torch.Tensor:
    """The cross-entropy of ``scores`` (..., classes) against ``tags`` (...) over the cells where
    ``mask`` (...) is 1, a weighted mean: a cell whose tag is not ``O`` (0) weighs
    ``positive_weight``, an ``O`` cell 1 (torch's class weights)."""
    classes = scores.size(-1)
    class_weights = scores.new_full((classes,), positive_weight)
    class_weights[0] = 1.0
    losses = torch.nn.functional.cross_entropy(scores.reshape(-1, classes), tags.reshape(-1), reduction="none")
    weights = class_weights[tags.reshape(-1)] * mask.reshape(-1)
    return (losses * weights).sum() / weights.sum().clamp(min=1e-12)
