"""The names that readers, modules and models share: vocabulary namespaces, the target values of
an NA slot and of a relation the vocabulary lacks, and the target field that maps the latter.
Readers, modules and models import them from here (nothing here imports them)."""
from allennlp.data.fields import LabelField

from copymtl_allennlp import compat

RELATION_NAMESPACE = "relation_labels"  # the relations (CopyMTL's decoder, GraphRel's pair classes)
TAG_NAMESPACE = "entity_tags"  # CopyMTL's BIO tags (the tagging head)
ENTITY_TAG_NAMESPACE = "bioes_tags"  # GraphRel's BIOES entity tags
NOVEL_TAG_NAMESPACE = "novel_tags"  # NovelTagging's tags (position, relation, role)
NA_POSITION = -1  # an NA slot in the copy and relation targets
UNSEEN_RELATION = -2  # a target relation that the model's vocabulary does not hold


class RelationLabelField(LabelField):
    """A target relation; one that the vocabulary does not hold (a relation of the evaluation data
    that training never saw) is indexed as ``UNSEEN_RELATION`` instead of failing. The models
    leave such triplets out of their targets; the metric still counts them as gold."""

    __slots__ = ()

    def index(self, vocab) -> None:
        label_id, namespace = compat.label_field_state(self)
        if label_id is None and self.label not in vocab.get_token_to_index_vocabulary(namespace):
            compat.set_label_id(self, UNSEEN_RELATION)
            return
        super().index(vocab)
