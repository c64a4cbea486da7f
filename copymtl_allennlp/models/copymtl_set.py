from typing import Any, Dict, List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import Seq2SeqEncoder, TextFieldEmbedder
from allennlp.nn import InitializerApplicator

from copymtl_allennlp.data.namespaces import RELATION_NAMESPACE, TAG_NAMESPACE
from copymtl_allennlp.metrics import TripletF1
from copymtl_allennlp.models.triplet_model import TripletModel
from copymtl_allennlp.modules.set_decoder import SetDecoder
from copymtl_allennlp.modules.set_matching import set_loss


@Model.register("copymtl_set")
class CopyMTLSet(TripletModel):
    """The copy family with a set decoder (CopyMTL-Set): the family's encoder (word embeddings or a
    pretrained transformer, then a BiLSTM or any ``Seq2SeqEncoder``), and instead of the sequential
    decoder a :class:`~copymtl_allennlp.modules.set_decoder.SetDecoder`: ``num_slots`` triplet slots
    decoded at once, each a relation (or NA) and four pointers over the source tokens (head start,
    head end, tail start, tail end; the paper's Eq. 10 scorer), so entities are full spans and
    nothing orders the triplets of a sentence or caps them at 5.

    Training (:mod:`~copymtl_allennlp.modules.set_matching`): the slots are matched to the gold
    triplets by minimum cost (the Hungarian assignment), each matched slot is trained on its
    triplet and every other slot on NA, NA weighted ``na_weight``. The paper's tagging head (CRF
    over BIO tags, Eq. 11-13) is an optional auxiliary loss on the same encoder:
    ``L = L_D + λ·L_E`` with ``λ = tagging_loss_weight`` (its tags are predicted, not used).

    Inference: every slot whose most probable relation is not NA gives a triplet, its entities the
    best valid spans (start <= end); repeated triplets collapse. ``relation_threshold`` (read at
    inference, so ``-o '{"model.relation_threshold": 0.6}'`` applies it to any archive): a slot
    gives its most probable relation where that relation's probability reaches the threshold, NA
    elsewhere (``null``: the argmax).

    A model of its own rather than a decoder switch of :class:`~copymtl_allennlp.models.copymtl.CopyMTL`:
    what configures the sequential decoder (feeding, NA loss, beam search, repeat blocking, entity
    completion by tags or lengths, the decoder's initial state) has no meaning here, and the encoder
    need not give a decoder state. It shares the rest: the reader ``copymtl`` (with
    ``entity_lengths: true``, ``max_triplets`` at most ``num_slots``), the embedders, the encoders,
    the tagging head, the metric, the predictor and the vocabulary extension.

    A sentence with more gold triplets than slots cannot be matched: a ``ConfigurationError`` names
    it (the reader keeps the first ``max_triplets`` of a sentence and counts the rest, so a reader
    ``max_triplets`` at most ``num_slots`` never meets it). Gold triplets whose relation training
    never saw are left out of the targets and still counted in recall, as for CopyMTL.
    """

    default_predictor = "copymtl"

    tag_namespace = TAG_NAMESPACE

    def __init__(
        self,
        vocab: Vocabulary,
        source_embedder: TextFieldEmbedder,
        encoder: Seq2SeqEncoder,
        num_slots: int = 10,
        slot_reader: str = "attention",
        num_layers: int = 3,
        num_heads: int = 4,
        feedforward_dim: Optional[int] = None,
        slot_dropout: float = 0.1,
        pointer_scorer: str = "selu",
        pointer_hidden_size: int = 100,
        pre_norm: bool = True,
        na_weight: float = 0.25,
        relation_threshold: Optional[float] = None,
        tagging_head: bool = False,
        tagging_loss_weight: float = 1.0,
        dropout: float = 0.0,
        word_dropout: float = 0.0,
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if not 0.0 < na_weight <= 1.0:
            raise ConfigurationError(f"na_weight must be in (0, 1], got {na_weight}")
        if relation_threshold is not None and not 0.0 < relation_threshold <= 1.0:
            raise ConfigurationError(f"relation_threshold must be in (0, 1] or null, got {relation_threshold}")
        self.relation_threshold = relation_threshold
        self.set_encoder(source_embedder, encoder, dropout, word_dropout)
        hidden_dim = encoder.get_output_dim()
        self.decoder = SetDecoder(
            hidden_dim,
            vocab.get_vocab_size(RELATION_NAMESPACE),
            num_slots=num_slots,
            slot_reader=slot_reader,
            num_layers=num_layers,
            num_heads=num_heads,
            feedforward_dim=feedforward_dim,
            dropout=slot_dropout,
            pointer_scorer=pointer_scorer,
            pointer_hidden_size=pointer_hidden_size,
            pre_norm=pre_norm,
        )
        self.na_weight = na_weight
        self.set_tagging_head(hidden_dim, tagging_head, tagging_loss_weight)
        self._triplet_f1 = TripletF1(known_relations=vocab.get_token_to_index_vocabulary(RELATION_NAMESPACE))
        initializer(self)

    def forward(
        self,
        source_tokens: TextFieldTensors,
        metadata: List[Dict[str, Any]],
        entity_tags: Optional[torch.Tensor] = None,
        target_relations: Optional[torch.Tensor] = None,
        target_head_ends: Optional[torch.Tensor] = None,
        target_tail_ends: Optional[torch.Tensor] = None,
        target_head_lengths: Optional[torch.Tensor] = None,
        target_tail_lengths: Optional[torch.Tensor] = None,
    ) -> Dict[str, Any]:
        # shape: (batch_size, seq_len, hidden_dim), (batch_size, seq_len)
        encoder_outputs, mask = self.encode(source_tokens)
        # the whole distributions where a loss is computed; at prediction the decoder scores the
        # pointers of the non-NA slots only (the same triplets)
        predictions = self.decoder(encoder_outputs, mask) if target_relations is not None else None
        # shape: (batch_size, seq_len, num_tags)
        head = self.tagging_head
        emissions = head(encoder_outputs) if head is not None else None
        output: Dict[str, Any] = {}
        if predictions is not None and target_relations is not None and target_head_ends is not None and target_tail_ends is not None:
            if target_head_lengths is None or target_tail_lengths is None:
                raise ConfigurationError("the set decoder needs the entity starts: give the reader 'entity_lengths: true'")
            self._check_slots(target_relations, metadata)
            # shape: (batch_size, max_triplets, 4): head start, head end, tail start, tail end
            gold_positions = torch.stack(
                [
                    target_head_ends - target_head_lengths + 1,
                    target_head_ends,
                    target_tail_ends - target_tail_lengths + 1,
                    target_tail_ends,
                ],
                dim=-1,
            )
            output["loss"] = set_loss(
                predictions.relation_log_probs, predictions.pointer_log_probs, target_relations, gold_positions, self.na_weight
            )
            if head is not None and emissions is not None and entity_tags is not None:
                output["loss"] = output["loss"] + self.tagging_loss_weight * head.loss(emissions, entity_tags, mask)
            if self.training:
                return output
        names = ("predicted_relations", "predicted_head_starts", "predicted_head_ends", "predicted_tail_starts", "predicted_tail_ends")
        decoded = (
            self.decoder.decode(predictions, self.relation_threshold)
            if predictions is not None
            else self.decoder.predict(encoder_outputs, mask, self.relation_threshold)
        )
        output.update(zip(names, decoded))
        if emissions is not None:
            self._predict_tags(output, emissions, entity_tags, mask)
        output["triplets"] = self._slot_triplets(output)
        self._score_triplets(output, metadata)
        return output

    def _check_slots(self, target_relations: torch.Tensor, metadata: List[Dict[str, Any]]) -> None:
        """Every gold triplet needs a slot: a sentence with more is a configuration error."""
        # shape: (batch_size,)
        counts = (target_relations >= 0).sum(dim=1)
        if counts.max() > self.decoder.num_slots:
            index = int(counts.argmax())
            raise ConfigurationError(
                f"{metadata[index].get('source')}: {int(counts[index])} gold triplets, more than the model's "
                f"{self.decoder.num_slots} slots; set model.num_slots at least to the reader's max_triplets"
            )
