from collections import Counter
from typing import Dict, List, Optional

from allennlp.data import DatasetReader
from allennlp.data.fields import Field, SequenceLabelField, TextField

from copymtl_allennlp import compat
from copymtl_allennlp.data.namespaces import NOVEL_TAG_NAMESPACE
from copymtl_allennlp.data.novel_tags import OUTSIDE, novel_tags
from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.dataset_readers.triplet_reader import TripletDatasetReader


class NovelTagField(SequenceLabelField):
    """NovelTagging's tags; a tag whose relation the vocabulary does not hold (a relation of the
    evaluation data that training never saw) is indexed as ``O``, so evaluation runs; the metric
    still counts such triplets as gold (:class:`~copymtl_allennlp.models.novel_tagging.NovelTagging`)."""

    __slots__ = ()

    def index(self, vocab) -> None:
        indexed, namespace = compat.sequence_label_field_state(self)
        if indexed is None:
            known = vocab.get_token_to_index_vocabulary(namespace)
            compat.set_sequence_labels(self, [label if label in known else OUTSIDE for label in self.labels])
        super().index(vocab)


@DatasetReader.register("novel_tagging")
class NovelTaggingDatasetReader(TripletDatasetReader):
    """Reads sentences with triplets for NovelTagging (Zheng et al. 2017). Reading, sharding,
    errors and counts as :class:`TripletDatasetReader`. Each instance has

    ``source_tokens``  the sentence (``TextField``);
    ``metadata``       ``tokens``, ``source`` and, with gold data, ``gold_triplets`` (every gold
                       triplet, also those the tags cannot express, so recall stays honest);
    ``tags``           with gold data: one tag per token in the scheme of
                       :mod:`copymtl_allennlp.data.novel_tags` (namespace ``novel_tags``).

    The scheme cannot express every sentence (a token has one tag): the triplets it leaves out and
    the sentences that lose one are counted and logged at the end of each file.
    """

    def warnings(self) -> Dict[str, str]:
        return {
            "triplets_not_tagged": "gold triplets the tagging scheme cannot express (left out of the tags; kept as gold for the metric)",
            "sentences_losing_triplets": "sentences that lose at least one triplet to the tagging scheme",
        }

    def gold_fields(
        self, source_field: TextField, triplets: List[Triplet], line: int, stats: Optional[Counter]
    ) -> Dict[str, Field]:
        tags, left_out = novel_tags(len(source_field), triplets)
        if stats is not None and left_out:
            stats["triplets_not_tagged"] += len(left_out)
            stats["sentences_losing_triplets"] += 1
        return {"tags": NovelTagField(tags, source_field, label_namespace=NOVEL_TAG_NAMESPACE)}
