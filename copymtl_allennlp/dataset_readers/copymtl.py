import logging
import random
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Instance, Token
from allennlp.data.fields import Field, LabelField, ListField, MetadataField, SequenceLabelField, TensorField, TextField
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer

from copymtl_allennlp.data.formats import FORMATS, ON_ERROR, read_sentences
from copymtl_allennlp.data.triplets import Triplet, bio_tags, deduplicate, entity_mentions

logger = logging.getLogger(__name__)

TRIPLET_ORDERS = ("given", "shuffle", "sorted")
RELATION_NAMESPACE = "relation_labels"
TAG_NAMESPACE = "entity_tags"
NA_POSITION = -1  # an NA slot in the copy and relation targets
UNSEEN_RELATION = -2  # a target relation that the model's vocabulary does not hold


class RelationLabelField(LabelField):
    """A target relation; one that the vocabulary does not hold (a relation of the evaluation data
    that training never saw) is indexed as ``UNSEEN_RELATION`` instead of failing. The model leaves
    such triplets out of its decoder targets; the metric still counts them as gold (see
    :class:`~copymtl_allennlp.models.copymtl.CopyMTL`)."""

    __slots__ = ()

    def index(self, vocab) -> None:  # type: ignore[override]
        if self._label_id is None and self.label not in vocab.get_token_to_index_vocabulary(self._label_namespace):
            self._label_id = UNSEEN_RELATION
            return
        super().index(vocab)


@DatasetReader.register("copymtl")
class CopyMTLDatasetReader(DatasetReader):
    """Reads sentences with (relation, head, tail) triplets for the CopyRE / CopyMTL model family.

    Any format of :mod:`copymtl_allennlp.data.formats` is read directly (``format="auto"`` detects
    it). Each instance has

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
    triplets; sentences with more are counted and logged. Sentences longer than
    ``max_sentence_length`` are skipped and counted (leave it ``None`` for evaluation data).
    Bad records raise an error naming file, line and problem, or with ``on_error="skip"`` are
    logged and counted. Counts are logged at the end of each file.
    """

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
        super().__init__(manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs)
        if format != "auto" and format not in FORMATS:
            raise ConfigurationError(f"format must be 'auto' or one of {FORMATS}, got {format!r}")
        if triplet_order not in TRIPLET_ORDERS:
            raise ConfigurationError(f"triplet_order must be one of {TRIPLET_ORDERS}, got {triplet_order!r}")
        if on_error not in ON_ERROR:
            raise ConfigurationError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
        if max_triplets < 1:
            raise ConfigurationError(f"max_triplets must be at least 1, got {max_triplets}")
        self.token_indexers = token_indexers or {"tokens": SingleIdTokenIndexer()}
        self.format = format
        self.words2id_path = words2id_path
        self.relations2id_path = relations2id_path
        self.max_triplets = max_triplets
        self.max_sentence_length = max_sentence_length
        self.triplet_order = triplet_order
        self.seed = seed
        self.entity_lengths = entity_lengths
        self.on_error = on_error

    def _read(self, file_path: str) -> Iterable[Instance]:
        stats: Counter = Counter()
        sentences = read_sentences(
            file_path, self.format, self.words2id_path, self.relations2id_path, self.on_error, stats
        )
        for line, sentence in self.shard_iterable(sentences):
            if self.max_sentence_length is not None and len(sentence.tokens) > self.max_sentence_length:
                stats["longer_than_max_sentence_length"] += 1
                continue
            if len(sentence.triplets) > self.max_triplets:
                stats["more_than_max_triplets"] += 1
            yield self.text_to_instance(
                sentence.tokens, sentence.triplets, source=f"{file_path}:{line}", line=line, stats=stats
            )
        logger.info("read %s: %s", file_path, ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
        for key, what in (
            ("skipped", "bad records skipped (on_error='skip')"),
            ("longer_than_max_sentence_length", f"sentences longer than {self.max_sentence_length} tokens skipped"),
            ("more_than_max_triplets", f"sentences with more than {self.max_triplets} triplets (decoder targets keep the first {self.max_triplets}; gold for the metric keeps all)"),
            ("overlapping_mentions_untagged", "overlapping entity mentions left out of the BIO tags"),
            ("head_equals_tail", "triplets whose head and tail are the same span (kept as gold)"),
        ):
            if stats[key]:
                logger.warning("%s: %d %s", file_path, stats[key], what)

    def text_to_instance(  # type: ignore[override]
        self,
        tokens: List[str],
        triplets: Optional[List[Triplet]] = None,
        source: Optional[str] = None,
        line: int = 0,
        stats: Optional[Counter] = None,
    ) -> Instance:
        source_field = TextField([Token(t) for t in tokens])
        metadata: Dict[str, Any] = {"tokens": list(tokens), "source": source}
        fields: Dict[str, Field] = {"source_tokens": source_field}
        if triplets is not None:
            triplets, _ = deduplicate(triplets)
            metadata["gold_triplets"] = list(triplets)
            tags, conflicts = bio_tags(len(tokens), entity_mentions(triplets))
            if stats is not None:
                stats["overlapping_mentions_untagged"] += conflicts
            fields["entity_tags"] = SequenceLabelField(tags, source_field, label_namespace=TAG_NAMESPACE)
            fields.update(self._target_fields(self._ordered(triplets, line)[: self.max_triplets]))
        fields["metadata"] = MetadataField(metadata)
        return Instance(fields)

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

    def apply_token_indexers(self, instance: Instance) -> None:
        instance.fields["source_tokens"].token_indexers = self.token_indexers  # type: ignore[attr-defined]
