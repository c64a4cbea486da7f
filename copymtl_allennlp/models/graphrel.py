from typing import Any, Dict, List, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import Seq2SeqEncoder, TextFieldEmbedder
from allennlp.nn import InitializerApplicator, util

from copymtl_allennlp.data.namespaces import ENTITY_TAG_NAMESPACE, RELATION_NAMESPACE
from copymtl_allennlp.data.triplets import Triplet, spans_from_tags
from copymtl_allennlp.metrics import TripletF1
from copymtl_allennlp.models.triplet_model import TripletModel
from copymtl_allennlp.modules.graph_convolution import BiGcn, RelationWeightedGcn, dependency_adjacency

RELATION_INFERENCE = ("average", "threshold")


class _PhaseHeads(torch.nn.Module):
    """One phase's classifiers: BIOES entity tags of each token, and the relation of each word
    pair, ``S(u, r, v) = W_3 ReLU(W_1 h_u + W_2 h_v)`` over the relations and NA (index 0)."""

    def __init__(self, size: int, relation_size: int, num_tags: int, num_classes: int) -> None:
        super().__init__()
        self.tags = torch.nn.Linear(size, num_tags)
        self.first = torch.nn.Linear(size, relation_size)
        self.second = torch.nn.Linear(size, relation_size, bias=False)
        self.relation = torch.nn.Linear(relation_size, num_classes)

    def forward(self, h: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        # shapes: (batch, seq_len, num_tags), (batch, seq_len, seq_len, num_classes)
        pairs = torch.relu(self.first(h).unsqueeze(2) + self.second(h).unsqueeze(1))
        return self.tags(h), self.relation(pairs)


@Model.register("graphrel")
class GraphRel(TripletModel):
    """GraphRel (Fu, Li and Ma 2019), a baseline of the paper's Table 1, one-phase (``phases: 1``,
    GraphRel-1p) or two-phase (``phases: 2``, GraphRel-2p).

    1st phase: word and POS embeddings (``source_embedder``, the reader's ``tokens`` and
    ``pos_tags``), a BiLSTM (``encoder``), the bi-directional GCN over the dependency tree
    (:class:`BiGcn`); from its outputs, BIOES entity tags of each token and the relation (or NA) of
    every word pair (:class:`_PhaseHeads`). 2nd phase: the relation-weighted GCN
    (:class:`RelationWeightedGcn`) over one graph per relation, weighted by the 1st phase's
    relation probabilities, then the same classifiers again (their own weights). Loss: the
    entity and relation cross-entropies (means over tokens and over word pairs) of the 1st phase,
    plus ``second_phase_weight`` times those of the 2nd.

    Targets: every (head word, tail word) pair of a gold triplet has its relation (the first
    triplet where two share a pair), other pairs NA; a triplet whose relation training never saw
    is left out of the targets (its pairs NA) and counted by the metric as
    ``unseen_relation_triplets``.

    Triplets (the last phase): entities are the spans of the predicted BIOES tags (``S``, or ``B
    I* E``: full spans); for each ordered pair of distinct entities, the relation probabilities of
    their word pairs are averaged (``relation_inference: average``: the pair's relation is the most
    probable class, none if NA), or (``threshold``) each relation that is the most probable class of
    at least ``threshold`` of the word pairs is extracted (several relations per pair possible).
    """

    default_predictor = "copymtl"

    tag_namespace = ENTITY_TAG_NAMESPACE

    def __init__(
        self,
        vocab: Vocabulary,
        source_embedder: TextFieldEmbedder,
        encoder: Seq2SeqEncoder,
        gcn_size: int = 128,
        gcn_layers: int = 2,
        relation_size: int = 128,
        phases: int = 2,
        second_phase_weight: float = 1.0,
        relation_inference: str = "average",
        threshold: float = 0.5,
        dropout: float = 0.0,
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if phases not in (1, 2):
            raise ConfigurationError(f"phases must be 1 or 2, got {phases}")
        if relation_inference not in RELATION_INFERENCE:
            raise ConfigurationError(f"relation_inference must be one of {RELATION_INFERENCE}, got {relation_inference!r}")
        if encoder.get_input_dim() != source_embedder.get_output_dim():
            raise ConfigurationError(
                f"the encoder reads {encoder.get_input_dim()} dimensions, the embedder gives {source_embedder.get_output_dim()}"
            )
        self.source_embedder = source_embedder
        self.encoder = encoder
        self.gcn = BiGcn(encoder.get_output_dim(), gcn_size, gcn_layers)
        size = self.gcn.get_output_dim()
        num_tags = vocab.get_vocab_size(ENTITY_TAG_NAMESPACE)
        self.num_relations = vocab.get_vocab_size(RELATION_NAMESPACE)
        self.first_phase = _PhaseHeads(size, relation_size, num_tags, self.num_relations + 1)
        self.phases = phases
        if phases == 2:
            self.relation_gcn = RelationWeightedGcn(size, self.num_relations)
            self.second_phase = _PhaseHeads(size, relation_size, num_tags, self.num_relations + 1)
        self.second_phase_weight = second_phase_weight
        self.relation_inference = relation_inference
        self.threshold = threshold
        self.dropout = torch.nn.Dropout(dropout)
        self._tag_names = [vocab.get_token_from_index(i, ENTITY_TAG_NAMESPACE) for i in range(num_tags)]
        self._triplet_f1 = TripletF1(known_relations=vocab.get_token_to_index_vocabulary(RELATION_NAMESPACE))
        initializer(self)

    def forward(
        self,
        source_tokens: TextFieldTensors,
        dependency_heads: torch.Tensor,
        metadata: List[Dict[str, Any]],
        entity_tags: Optional[torch.Tensor] = None,
        target_relations: Optional[torch.Tensor] = None,
        target_spans: Optional[torch.Tensor] = None,
    ) -> Dict[str, Any]:
        # shape: (batch_size, seq_len)
        mask = util.get_text_field_mask(source_tokens)
        embedded = self.dropout(self.source_embedder(source_tokens))
        encoded = self.dropout(self.encoder(embedded, mask))
        # 1st phase; shape: (batch_size, seq_len, 2 * gcn_size)
        h = self.dropout(self.gcn(encoded, dependency_adjacency(dependency_heads, mask), mask))
        phases = [self.first_phase(h)]
        if self.phases == 2:
            # the relation graphs: P_r(u, v) of each relation (NA left out)
            probabilities = torch.softmax(phases[0][1], dim=-1)[..., 1:]
            phases.append(self.second_phase(self.dropout(self.relation_gcn(h, probabilities, mask))))

        output: Dict[str, Any] = {}
        if target_relations is not None:
            pair_targets = self.pair_targets(target_relations, target_spans, mask.size(1))  # type: ignore[arg-type]
            losses = [self._phase_loss(tags, relations, entity_tags, pair_targets, mask) for tags, relations in phases]
            output["loss"] = losses[0] + (self.second_phase_weight * losses[1] if len(losses) == 2 else 0.0)
            if self.training:
                return output
        tag_scores, relation_scores = phases[-1]
        output["predicted_tags"] = tag_scores.argmax(dim=-1)
        output["triplets"] = self._triplets(output["predicted_tags"], torch.softmax(relation_scores, dim=-1), [m["tokens"] for m in metadata])
        self._score_triplets(output, metadata)
        return output

    @staticmethod
    def pair_targets(relations: torch.Tensor, spans: torch.Tensor, seq_len: int) -> torch.Tensor:
        """The relation class of every word pair, ``(batch, seq_len, seq_len)``: ``1 + relation``
        at the (head word, tail word) pairs of each triplet (the first triplet where two share a
        pair), ``0`` (NA) elsewhere; NA slots (``-1``) and unseen relations (``-2``) mark nothing."""
        positions = torch.arange(seq_len, device=spans.device)

        def inside(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
            # shape: (batch, num_triplets, seq_len)
            return (positions >= start.unsqueeze(-1)) & (positions < end.unsqueeze(-1))

        heads, tails = inside(spans[..., 0], spans[..., 1]), inside(spans[..., 2], spans[..., 3])
        # shape: (batch, num_triplets, seq_len, seq_len)
        pairs = heads.unsqueeze(3) & tails.unsqueeze(2) & (relations >= 0)[..., None, None]
        marked = pairs.any(dim=1)
        first = pairs.float().argmax(dim=1)  # the first triplet marking the pair
        return torch.where(marked, relations.clamp(min=0).gather(1, first.flatten(1)).view_as(first) + 1, 0)

    @staticmethod
    def _phase_loss(
        tag_scores: torch.Tensor,
        relation_scores: torch.Tensor,
        entity_tags: Optional[torch.Tensor],
        pair_targets: torch.Tensor,
        mask: torch.BoolTensor,
    ) -> torch.Tensor:
        pair_mask = mask.unsqueeze(2) & mask.unsqueeze(1)
        relation_loss = torch.nn.functional.cross_entropy(relation_scores[pair_mask], pair_targets[pair_mask])
        if entity_tags is None:
            return relation_loss
        return torch.nn.functional.cross_entropy(tag_scores[mask], entity_tags[mask]) + relation_loss

    def _triplets(self, tags: torch.Tensor, probabilities: torch.Tensor, tokens: List[List[str]]) -> List[List[Triplet]]:
        """The triplets of each sentence from its tags and word-pair relation probabilities (the
        class docstring), batched over the entity pairs of all sentences."""
        entities = [spans_from_tags([self._tag_names[i] for i in row[: len(words)]]) for row, words in zip(tags.tolist(), tokens)]
        most = max((len(e) for e in entities), default=0)
        if most < 2:
            return [[] for _ in tokens]
        batch_size, seq_len = tags.shape
        # shape: (batch, most, seq_len): which tokens each entity holds
        members = probabilities.new_zeros(batch_size, most, seq_len)
        for b, spans in enumerate(entities):
            for e, (start, end) in enumerate(spans):
                members[b, e, start:end] = 1.0 / (end - start)
        if self.relation_inference == "threshold":
            # each word pair votes for its most probable class
            probabilities = torch.nn.functional.one_hot(probabilities.argmax(-1), probabilities.size(-1)).to(members.dtype)
        # the mean over the word pairs of entities e and f; shape: (batch, most, most, num_classes)
        means = torch.einsum("bfv,bevc->befc", members, torch.einsum("beu,buvc->bevc", members, probabilities))
        if self.relation_inference == "average":
            chosen = means.argmax(-1, keepdim=True)
            found = torch.zeros_like(means, dtype=torch.bool).scatter_(-1, chosen, True)
        else:
            found = means >= self.threshold
        found[..., 0] = False  # NA
        sentences: List[List[Triplet]] = []
        for b, spans in enumerate(entities):
            triplets = []
            for e, f, c in found[b, : len(spans), : len(spans)].nonzero().tolist():
                if e != f:
                    relation = self.vocab.get_token_from_index(c - 1, RELATION_NAMESPACE)
                    triplets.append(Triplet(relation, spans[e], spans[f]))
            sentences.append(triplets)
        return sentences
