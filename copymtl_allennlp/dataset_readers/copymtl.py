import random
from collections import Counter
from typing import Dict, List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader
from allennlp.data.fields import Field, ListField, SequenceLabelField, TensorField, TextField
from allennlp.data.token_indexers import TokenIndexer

from copymtl_allennlp.data.namespaces import NA_POSITION, RELATION_NAMESPACE, TAG_NAMESPACE, RelationLabelField
from copymtl_allennlp.data.triplets import Triplet, bio_tags, entity_mentions
from copymtl_allennlp.dataset_readers.triplet_reader import TripletDatasetReader

TRIPLET_ORDERS = ("given", "shuffle", "sorted")
@DatasetReader.register("copymtl")
class CopyMTLDatasetReader(TripletDatasetReader):
    """Reads sentences with (relation, head, tail) triplets for the CopyRE / CopyMTL model family.

    Reading, sharding, errors and counts as :class:`TripletDatasetReader`. Each instance has

    ``source_tokens``      the sentence (``TextField``);
    ``metadata``           ``tokens``, ``source`` (``"file:line"``) and, with gold data,
                           ``gold_triplets``: every gold :class:`Triplet` with full spans, never
                           truncated, so recall stays honest;

    and, when the sentence has gold triplets (training and evaluation data):

    ``entity_tags``        BIO tags of every entity mention (namespace ``entity_tags``), for the
                           CRF tagging head;
    ``target_relations``   ``max_triplets`` relation labels (namespace ``relation_labels``); an NA
                           slot is ``-1``, a relation the vocabulary lacks ``-2``;
    ``target_head_ends``,  ``max_triplets`` last-token positions of head and tail, ``-1`` for NA;
    ``target_tail_ends``
    ``target_head_lengths``, ``target_tail_lengths`` (only with ``entity_lengths=True``): entity
                           widths in tokens, ``0`` for NA (CopyRE'5).

    The decoder target is the first ``max_triplets`` triplets in ``triplet_order`` (``given``;
    ``shuffle``, with ``seed``; or ``sorted`` by head then tail position), padded with NA
    triplets; sentences with more are counted and logged.
    """

    # every gold relation enters the vocabulary, also those of triplets past max_triplets
    gold_relation_namespace = RELATION_NAMESPACE

    def __init__(
        self,
        token_indexers: Optional[Dict[str, TokenIndexer]] = None,
        format: str = "auto",
        words2id_path: Optional[str] = None,
        relations2id_path: Optional[str] = None,
        max_triplets: int = 5,
        max_sentence_length: Optional[int] = None,
        triplet_order: str = "given",
        seed: int = 13,
        entity_lengths: bool = False,
        on_error: str = "raise",
        **kwargs,
    ) -> None:
        super().__init__(token_indexers, format, words2id_path, relations2id_path, max_sentence_length, on_error, **kwargs)
        if triplet_order not in TRIPLET_ORDERS:
            raise ConfigurationError(f"triplet_order must be one of {TRIPLET_ORDERS}, got {triplet_order!r}")
        if max_triplets < 1:
            raise ConfigurationError(f"max_triplets must be at least 1, got {max_triplets}")
        self.max_triplets = max_triplets
        self.triplet_order = triplet_order
        self.seed = seed
        self.entity_lengths = entity_lengths

    def warnings(self) -> Dict[str, str]:
        return {
            "more_than_max_triplets": f"sentences with more than {self.max_triplets} triplets (decoder targets keep the first {self.max_triplets}; gold for the metric keeps all)",
            "overlapping_mentions_untagged": "overlapping entity mentions left out of the BIO tags",
        }

    def gold_fields(
        self, source_field: TextField, triplets: List[Triplet], line: int, stats: Optional[Counter]
    ) -> Dict[str, Field]:
        if stats is not None and len(triplets) > self.max_triplets:
            stats["more_than_max_triplets"] += 1
        tags, conflicts = bio_tags(len(source_field), entity_mentions(triplets))
        if stats is not None:
            stats["overlapping_mentions_untagged"] += conflicts
        fields: Dict[str, Field] = {"entity_tags": SequenceLabelField(tags, source_field, label_namespace=TAG_NAMESPACE)}
        fields.update(self._target_fields(self._ordered(triplets, line)[: self.max_triplets]))
        return fields

    def _ordered(self, triplets: List[Triplet], line: int) -> List[Triplet]:
        if self.triplet_order == "sorted":
            return sorted(triplets, key=lambda t: (t.head, t.tail, t.relation))
        if self.triplet_order == "shuffle":
            shuffled = list(triplets)
            # seeded per sentence, so the order does not depend on data-loader workers or sharding
            random.Random(self.seed * 1_000_003 + line).shuffle(shuffled)
            return shuffled
        return triplets

    def _target_fields(self, triplets: List[Triplet]) -> Dict[str, Field]:
        na_slots = self.max_triplets - len(triplets)
        relations: List[Field] = [RelationLabelField(t.relation, label_namespace=RELATION_NAMESPACE) for t in triplets]
        relations += [RelationLabelField(NA_POSITION, label_namespace=RELATION_NAMESPACE, skip_indexing=True)] * na_slots

        def positions(values: List[int], na: int) -> TensorField:
            return TensorField(torch.tensor(values + [na] * na_slots, dtype=torch.long), padding_value=na)

        fields: Dict[str, Field] = {
            "target_relations": ListField(relations),
            "target_head_ends": positions([t.head[1] - 1 for t in triplets], NA_POSITION),
            "target_tail_ends": positions([t.tail[1] - 1 for t in triplets], NA_POSITION),
        }
        if self.entity_lengths:
            fields["target_head_lengths"] = positions([t.head[1] - t.head[0] for t in triplets], 0)
            fields["target_tail_lengths"] = positions([t.tail[1] - t.tail[0] for t in triplets], 0)
        return fields
