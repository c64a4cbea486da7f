import math
from typing import List, NamedTuple, Optional, Tuple, cast

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.nn import util

from copymtl_allennlp.modules.copy_scorer import CopyScorer
from copymtl_allennlp.modules.precision import at_least_float32
from copymtl_allennlp.modules.set_matching import POINTERS

SLOT_READERS = ("attention", "transformer")


class SetPredictions(NamedTuple):
    """What the set decoder predicts for every slot of every sentence."""

    # shape: (batch_size, num_slots, num_relations + 1): log-probabilities of the relations, NA last
    relation_log_probs: torch.Tensor
    # shape: (batch_size, num_slots, 4, seq_len): log-probabilities of the head start, head end,
    # tail start and tail end positions (POINTERS); padding positions at (near) zero probability
    pointer_log_probs: torch.Tensor


class SetDecoder(torch.nn.Module):
    """Decodes all triplets of a sentence at once: ``num_slots`` learned triplet slots read the
    encoder outputs, and each slot predicts a relation (or NA) and four pointers over the source
    tokens (head start, head end, tail start, tail end). Sui et al.'s set prediction networks, with
    the copy family's pointer scorer: each pointer is the paper's Eq. 10 (or Eq. 3) between the slot
    state and every encoder output, a :class:`CopyScorer` of its own.

    ``slot_reader``: how the slots read the sentence,
    ``attention`` (the default): one multi-head cross-attention of each slot over the encoder
        outputs, the slots independent of each other (a residual connection and layer
        normalisation), or
    ``transformer``: a non-autoregressive transformer decoder (``num_layers`` layers of self-attention
        between the slots, cross-attention to the encoder outputs and a feed-forward layer of
        ``feedforward_dim``, default twice the input; ``torch.nn.TransformerDecoder``), layer
        normalisation before each sublayer (``pre_norm``; after it, WebNLG training stalled at
        F1 0 for three epochs, docs/results.md).

    The slots have no order: the training objective (:mod:`~copymtl_allennlp.modules.set_matching`)
    matches them to the gold triplets. Decoding (:meth:`decode`): every slot whose most probable
    relation is not NA gives a triplet whose entities are the best valid spans (start <= end) under
    the pointer distributions (:func:`best_spans`).
    """

    def __init__(
        self,
        input_dim: int,
        num_relations: int,
        num_slots: int = 10,
        slot_reader: str = "attention",
        num_layers: int = 3,
        num_heads: int = 4,
        feedforward_dim: Optional[int] = None,
        dropout: float = 0.1,
        pointer_scorer: str = "selu",
        pointer_hidden_size: int = 100,
        pre_norm: bool = True,
    ) -> None:
        super().__init__()
        if num_slots < 1:
            raise ConfigurationError(f"num_slots must be at least 1, got {num_slots}")
        if slot_reader not in SLOT_READERS:
            raise ConfigurationError(f"slot_reader must be one of {SLOT_READERS}, got {slot_reader!r}")
        if input_dim % num_heads:
            raise ConfigurationError(f"the encoder output size {input_dim} must be divisible by num_heads {num_heads}")
        self.num_slots = num_slots
        self.num_relations = num_relations
        # the learned slot queries
        self.slots = torch.nn.Parameter(torch.empty(num_slots, input_dim))
        torch.nn.init.normal_(self.slots, std=input_dim**-0.5)
        self.slot_reader = slot_reader
        self.reader: torch.nn.Module
        if slot_reader == "transformer":
            layer = torch.nn.TransformerDecoderLayer(
                input_dim, num_heads, feedforward_dim or 2 * input_dim, dropout, batch_first=True, norm_first=pre_norm
            )
            self.reader = torch.nn.TransformerDecoder(layer, num_layers)
        else:
            self.reader = torch.nn.MultiheadAttention(input_dim, num_heads, dropout=dropout, batch_first=True)
            self.reader_norm = torch.nn.LayerNorm(input_dim)
        self.relation_classifier = torch.nn.Linear(input_dim, num_relations + 1)
        self.pointers = torch.nn.ModuleList(
            CopyScorer(input_dim, input_dim, pointer_scorer, pointer_hidden_size) for _ in POINTERS
        )

    def forward(self, encoder_outputs: torch.Tensor, mask: torch.BoolTensor) -> SetPredictions:
        """``encoder_outputs``: (batch_size, seq_len, input_dim); ``mask``: (batch_size, seq_len)."""
        states = self.read(encoder_outputs, mask)
        projected = [pointer.project_encoder(encoder_outputs).unsqueeze(1) for pointer in self._pointers()]
        # shape: (batch_size, num_slots, 4, seq_len), each slot against every position
        pointer_log_probs = self._pointer_log_probs(states, projected, mask[:, None, None, :])
        return SetPredictions(self.relation_log_probs(states), pointer_log_probs)

    def read(self, encoder_outputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The slot states after reading the sentence, (batch_size, num_slots, input_dim)."""
        batch_size = encoder_outputs.size(0)
        # shape: (batch_size, num_slots, input_dim)
        queries = self.slots.unsqueeze(0).expand(batch_size, -1, -1)
        if self.slot_reader == "transformer":
            return self.reader(queries, encoder_outputs, memory_key_padding_mask=~mask)
        read, _ = self.reader(queries, encoder_outputs, encoder_outputs, key_padding_mask=~mask, need_weights=False)
        return self.reader_norm(queries + read)

    def relation_log_probs(self, states: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the relations and NA (last), (..., num_relations + 1)."""
        return torch.log_softmax(at_least_float32(self.relation_classifier(states)), dim=-1)

    def _pointers(self) -> List[CopyScorer]:
        return cast(List[CopyScorer], list(self.pointers))

    def _pointer_log_probs(self, states: torch.Tensor, projected: List[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """The four pointer distributions of ``states`` (..., input_dim) over the positions, each
        pointer's projected encoder outputs (Eq. 8) in ``projected`` (..., seq_len, width, broadcast
        against the states), ``mask`` broadcast to the result (..., 4, seq_len)."""
        scores = at_least_float32(torch.stack([pointer(states, p) for pointer, p in zip(self._pointers(), projected)], dim=-2))
        scores = util.replace_masked_values(scores, cast(torch.BoolTensor, mask), util.min_value_of_dtype(scores.dtype))
        return torch.log_softmax(scores, dim=-1)

    def decode(self, predictions: SetPredictions, relation_threshold: Optional[float] = None) -> Tuple[torch.Tensor, ...]:
        """Every slot's triplet: relation index (``-1`` for NA), head start, head end, tail start,
        tail end (inclusive token positions, ``-1`` for NA), each of shape (batch_size, num_slots).
        A slot's relation: :func:`slot_relations`."""
        relations = slot_relations(predictions.relation_log_probs, relation_threshold)
        na = relations == self.num_relations
        pointers = predictions.pointer_log_probs
        head_starts, head_ends = best_spans(pointers[:, :, 0], pointers[:, :, 1])
        tail_starts, tail_ends = best_spans(pointers[:, :, 2], pointers[:, :, 3])
        return tuple(value.masked_fill(na, -1) for value in (relations, head_starts, head_ends, tail_starts, tail_ends))

    def predict(
        self, encoder_outputs: torch.Tensor, mask: torch.BoolTensor, relation_threshold: Optional[float] = None
    ) -> Tuple[torch.Tensor, ...]:
        """What :meth:`decode` gives for :meth:`forward`'s predictions, with the pointers scored for
        the slots that predict a relation only (the NA slots' spans are never read): at inference
        most slots are NA, and the pointers are most of the decoder's work."""
        states = self.read(encoder_outputs, mask)
        relations = slot_relations(self.relation_log_probs(states), relation_threshold)
        spans = [torch.full_like(relations, -1) for _ in range(4)]
        # the sentence and slot of every relation
        sentence, slot = (relations != self.num_relations).nonzero(as_tuple=True)
        if sentence.numel():
            # shape: (found, seq_len, width) per pointer: each sentence projected once, then gathered
            projected = [pointer.project_encoder(encoder_outputs)[sentence] for pointer in self._pointers()]
            # shape: (found, 4, seq_len)
            pointer_log_probs = self._pointer_log_probs(states[sentence, slot], projected, mask[sentence].unsqueeze(1))
            found = best_spans(pointer_log_probs[:, 0], pointer_log_probs[:, 1]) + best_spans(pointer_log_probs[:, 2], pointer_log_probs[:, 3])
            for values, positions in zip(spans, found):
                values[sentence, slot] = positions
        return (relations.masked_fill(relations == self.num_relations, -1), *spans)


def slot_relations(relation_log_probs: torch.Tensor, threshold: Optional[float] = None) -> torch.Tensor:
    """Each slot's relation from its log-probabilities (..., num_relations + 1), NA last (the
    index ``num_relations``): the most probable class, or with ``threshold`` the most probable
    relation where its probability reaches ``threshold`` and NA elsewhere (a stricter or looser
    NA decision than the argmax, set at inference)."""
    if threshold is None:
        return relation_log_probs.argmax(dim=-1)
    na = relation_log_probs.size(-1) - 1
    best = relation_log_probs[..., :na].max(dim=-1)
    return torch.where(best.values >= math.log(threshold), best.indices, na)


def best_spans(start_log_probs: torch.Tensor, end_log_probs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The most probable valid span ``start <= end`` under independent start and end distributions:
    ``argmax_{i <= j} start[i] + end[j]``, exactly, in one pass (the best start at or before each end
    is a running maximum). Inputs: log-probabilities of shape (..., seq_len); returns the start and
    the end (inclusive), each of shape (...). Of equal scores, the earliest end wins, and for it the
    latest start (``torch.cummax`` keeps the last of equal maxima)."""
    # shape: (..., seq_len): the best start score at or before each position, and where it is
    best_start_scores, best_starts = start_log_probs.cummax(dim=-1)
    ends = (best_start_scores + end_log_probs).argmax(dim=-1, keepdim=True)
    return best_starts.gather(-1, ends).squeeze(-1), ends.squeeze(-1)
