"""What every triplet model of the package shares: extending the vocabulary to words that training
never saw, so that they get their pretrained vectors instead of the unknown word's.

The vocabulary comes from the training data alone (``datasets_for_vocab_creation: ["train"]`` in
every config), so a dev, test or user word outside it is read as ``@@UNKNOWN@@``. Three ways give
such words their pretrained vectors, all through :meth:`TripletModel.extend_embedder_vocab`:

- ``allennlp evaluate ARCHIVE FILE --extend-vocab --embedding-sources-mapping
  '{"source_embedder.token_embedder_tokens": "vectors/glove.6B.50d.txt"}'`` (AllenNLP's own: the
  words of FILE join the vocabulary);
- ``allennlp predict ... --predictor-args '{"vectors": "vectors/glove.6B.50d.txt"}'`` and
  ``load_extractor(archive, vectors=...)``: every word of the vectors file joins the vocabulary
  (:meth:`TripletModel.add_pretrained_words`).

A new word's row is its vector from the file where the file has it; every other new row (a word the
file lacks, and the rows of embeddings without a file: the trained ``trainable_tokens`` embedding,
the characters) is a copy of the unknown word's row, so an extended model reads such a word exactly
as before. Output namespaces (relations, tags) keep their trained labels: a relation that training
never saw stays unseen (counted by ``unseen_relation_triplets``), as without the extension.
"""
import logging
import os
from typing import Any, Dict, List, Optional, Set, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.data.vocabulary import DEFAULT_OOV_TOKEN
from allennlp.models import Model
from allennlp.modules import Seq2SeqEncoder, TextFieldEmbedder
from allennlp.nn import util
from allennlp.modules.token_embedders import Embedding

from copymtl_allennlp import compat
from copymtl_allennlp.data.namespaces import RELATION_NAMESPACE, TAG_NAMESPACE
from copymtl_allennlp.metrics import DistributedSpanF1
from copymtl_allennlp.modules.tagging_head import TaggingHead
from copymtl_allennlp.data.triplets import Triplet, readable_triplets

logger = logging.getLogger(__name__)

# the word embedding that pretrained vectors fill in every config (copymtl.libsonnet)
WORD_EMBEDDING_PATH = "source_embedder.token_embedder_tokens"


def vector_file_words(path: str, embedding_dim: Optional[int] = None) -> List[str]:
    """The words of a GloVe-style text file (``word v1 ... vD`` per line), checked: a missing or
    empty file, or a line whose width is not ``embedding_dim``, raises ``ConfigurationError`` naming
    the file and the line."""
    if not os.path.isfile(path):
        raise ConfigurationError(f"{path}: vectors file not found (`make vectors` writes vectors/glove.6B.50d.txt)")
    words = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            fields = line.rstrip("\n").rstrip(" ").split(" ")
            if len(fields) < 2:
                if line.strip():
                    raise ConfigurationError(f"{path}, line {number}: expected a word and its vector, got {line.strip()[:40]!r}")
                continue
            if embedding_dim is not None and len(fields) - 1 != embedding_dim:
                raise ConfigurationError(
                    f"{path}, line {number}: a vector of {len(fields) - 1} values, the embedding has {embedding_dim} "
                    "(give a vectors file of the embedding's width)"
                )
            words.append(fields[0])
    if not words:
        raise ConfigurationError(f"{path}: no vectors in the file (it is empty); `make vectors` writes one")
    return words


class TripletModel(Model):
    """The base of the package's models (CopyMTL, NovelTagging, GraphRel): vocabulary extension
    (module docstring), the readable output and the metrics.

    A subclass keeps its :class:`~copymtl_allennlp.metrics.TripletF1` as ``self._triplet_f1`` and
    puts ``tokens`` and ``triplets`` (and ``predicted_tags``, indices in ``tag_namespace``, where it
    tags tokens) in its output; the readable output gives the tags under ``tags_output_key``.
    """

    tag_namespace: Optional[str] = None
    tags_output_key = "entity_tags"
    _triplet_f1: Any
    # set by set_tagging_head (no class-level value: torch registers the head as a submodule,
    # which a class attribute would shadow)
    tagging_head: Optional[TaggingHead]
    _tagging_f1: Optional[DistributedSpanF1]

    def __init__(self, vocab: Vocabulary, **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        # the namespaces as trained: output namespaces are restored to these sizes after an extension
        self._trained_namespace_sizes = {namespace: vocab.get_vocab_size(namespace) for namespace in vocab.get_namespaces()}

    @classmethod
    def from_params(cls, params, constructor_to_call=None, constructor_to_inspect=None, **extras):
        """As AllenNLP's, after checking every pretrained vectors file of the source embedder (a
        missing or empty file, a vector of the wrong width: one line naming the file and the line,
        where AllenNLP would stop with a bare ``StopIteration`` or skip every line)."""
        embedders = ((params.get("source_embedder") or {}).get("token_embedders") or {}).values()
        for embedder in embedders:
            path = embedder.get("pretrained_file") if hasattr(embedder, "get") else None
            if path and "://" not in str(path) and "#" not in str(path) and not str(path).endswith((".gz", ".bz2", ".lzma", ".xz", ".zip", ".h5", ".hdf5")):
                vector_file_words(str(path), embedder.get("embedding_dim"))
        return super().from_params(params, constructor_to_call, constructor_to_inspect, **extras)

    def _embeddings(self) -> Dict[str, Embedding]:
        return {name: module for name, module in self.named_modules() if isinstance(module, Embedding)}

    def extend_embedder_vocab(self, embedding_sources_mapping: Optional[Dict[str, str]] = None) -> None:
        """AllenNLP's extension (new rows from the mapped vectors files), with the rules of the
        module docstring: rows without a vector copy the unknown word's row; output namespaces keep
        their trained size."""
        self._extend(dict(embedding_sources_mapping or {}), {})

    def _extend(self, mapping: Dict[str, str], file_words: Dict[str, Set[str]]) -> None:
        """:meth:`extend_embedder_vocab`; ``file_words`` holds the words of vectors files already
        read and checked (each file is read once here, and once by AllenNLP for the vectors)."""
        embeddings = self._embeddings()
        unknown = set(mapping) - set(embeddings)
        if unknown:
            raise ConfigurationError(
                f"embedding sources mapping names {sorted(unknown)}, which this model does not have; its embeddings: {sorted(embeddings)}"
            )
        embedded = {compat.embedding_namespace(module) for module in embeddings.values()}
        for namespace, size in self._trained_namespace_sizes.items():
            if namespace not in embedded and self.vocab.get_vocab_size(namespace) > size:
                compat.truncate_namespace(self.vocab, namespace, size)
        before = {name: module.num_embeddings for name, module in embeddings.items()}
        for name, path in mapping.items():
            if path not in file_words and self.vocab.get_vocab_size(compat.embedding_namespace(embeddings[name])) > before[name]:
                # a clear error before AllenNLP reads it
                file_words[path] = set(vector_file_words(path, embeddings[name].get_output_dim()))
        super().extend_embedder_vocab(mapping)
        for name, module in embeddings.items():
            if module.num_embeddings == before[name]:
                continue
            namespace = compat.embedding_namespace(module)
            with_vectors = file_words.get(mapping.get(name, ""), set())
            new = range(before[name], module.num_embeddings)
            without = [i for i in new if self.vocab.get_token_from_index(i, namespace) not in with_vectors]
            unknown_row = self.vocab.get_token_index(compat.oov_token(self.vocab), namespace)
            with torch.no_grad():
                module.weight[without] = module.weight[unknown_row].clone()
            logger.info(
                "%s: %d new words (%d with a pretrained vector, %d read as the unknown word)",
                name, len(new), len(new) - len(without), len(without),
            )

    def add_pretrained_words(self, vectors_file: str) -> int:
        """Adds every word of ``vectors_file`` (a GloVe text file of the word embedding's width,
        e.g. ``make vectors``' file) that the vocabulary lacks, with its vector; returns how many.
        For ``allennlp predict --predictor-args '{"vectors": FILE}'`` and
        ``load_extractor(archive, vectors=FILE)``."""
        embeddings = self._embeddings()
        if WORD_EMBEDDING_PATH not in embeddings:
            raise ConfigurationError(
                f"this model has no pretrained word embedding ({WORD_EMBEDDING_PATH}) to extend with {vectors_file}"
                " (a transformer embeds every word already)"
            )
        embedding = embeddings[WORD_EMBEDDING_PATH]
        namespace = compat.embedding_namespace(embedding)
        known = self.vocab.get_token_to_index_vocabulary(namespace)
        in_file = vector_file_words(vectors_file, embedding.get_output_dim())
        words = [w for w in dict.fromkeys(in_file) if w not in known]
        self.vocab.add_tokens_to_namespace(words, namespace)
        self._extend({WORD_EMBEDDING_PATH: vectors_file}, {vectors_file: set(in_file)})
        return len(words)

    def set_word_dropout(self, word_dropout: float, embedder: Optional[torch.nn.Module] = None) -> None:
        """Word dropout in training (:meth:`_drop_words`), checked. The indexers of ``embedder``
        whose embedding reads another namespace than the words (POS tags) are not dropped."""
        if not 0.0 <= word_dropout < 1.0:
            raise ConfigurationError(f"word_dropout must be in [0, 1), got {word_dropout}")
        self.word_dropout = word_dropout
        self._unknown_id = self.vocab.get_token_index(DEFAULT_OOV_TOKEN, "tokens")
        self._undropped_indexers = frozenset(
            key
            for key, module in (compat.token_embedders(embedder).items() if embedder is not None else ())
            if isinstance(module, Embedding) and compat.embedding_namespace(module) != "tokens"
        )

    def _drop_words(self, source_tokens: TextFieldTensors, mask: torch.BoolTensor) -> TextFieldTensors:
        """Word dropout, in training: each token is read as the unknown word with probability
        ``word_dropout``, the same token for every word-id indexer (characters and POS tags are
        kept)."""
        if not self.training or self.word_dropout == 0.0:
            return source_tokens
        # shape: (batch_size, seq_len)
        dropped = (torch.rand(mask.shape, device=mask.device) < self.word_dropout) & mask
        result: Dict[str, Dict[str, torch.Tensor]] = {}
        for indexer, tensors in source_tokens.items():
            result[indexer] = dict(tensors)
            ids = tensors.get("tokens")
            if ids is not None and ids.dim() == 2 and indexer not in self._undropped_indexers:
                # the unknown word's id: 1 in every padded namespace
                result[indexer]["tokens"] = ids.masked_fill(dropped, self._unknown_id)
        return result

    def _slot_triplets(self, output: Dict[str, torch.Tensor]) -> List[List[Triplet]]:
        """Complete (non-NA) triplets per sentence, in decoding order, repeats removed."""
        columns = [
            output[key].tolist()
            for key in (
                "predicted_relations",
                "predicted_head_starts",
                "predicted_head_ends",
                "predicted_tail_starts",
                "predicted_tail_ends",
            )
        ]
        sentences = []
        for relations, head_starts, head_ends, tail_starts, tail_ends in zip(*columns):
            triplets: Dict[Triplet, None] = {}
            for relation, hs, he, ts, te in zip(relations, head_starts, head_ends, tail_starts, tail_ends):
                if relation < 0 or he < 0 or te < 0:
                    continue
                name = self.vocab.get_token_from_index(relation, RELATION_NAMESPACE)
                triplets.setdefault(Triplet(name, (hs, he + 1), (ts, te + 1)))
            sentences.append(list(triplets))
        return sentences

    def set_encoder(self, source_embedder: TextFieldEmbedder, encoder: Seq2SeqEncoder, dropout: float, word_dropout: float) -> None:
        """The source embedder and an encoder over it (widths checked), dropout on the embeddings
        and the encoder outputs, word dropout (CopyMTL-Set, TPLinker; :meth:`encode`)."""
        if encoder.get_input_dim() != source_embedder.get_output_dim():
            raise ConfigurationError(
                f"encoder input size {encoder.get_input_dim()} != embedder output {source_embedder.get_output_dim()}"
            )
        self.source_embedder = source_embedder
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(dropout)
        self.set_word_dropout(word_dropout, source_embedder)

    def encode(self, source_tokens: TextFieldTensors) -> Tuple[torch.Tensor, torch.BoolTensor]:
        """The encoder outputs (batch_size, seq_len, encoder_dim) and the mask (batch_size, seq_len)
        of a batch (the parts :meth:`set_encoder` set)."""
        mask = util.get_text_field_mask(source_tokens)
        embedded = self.dropout(self.source_embedder(self._drop_words(source_tokens, mask)))
        return self.dropout(self.encoder(embedded, mask)), mask

    def set_tagging_head(self, input_dim: int, tagging_head: bool, tagging_loss_weight: float) -> None:
        """The paper's CRF tagging head (Eq. 11-13) on encoder outputs of ``input_dim``, where
        ``tagging_head``, with its span F1 (CopyMTL, CopyMTL-Set)."""
        self.tagging_head = TaggingHead(self.vocab, input_dim) if tagging_head else None
        self.tagging_loss_weight = tagging_loss_weight
        self._tagging_f1 = DistributedSpanF1(self.vocab, tag_namespace=TAG_NAMESPACE, label_encoding="BIO") if tagging_head else None

    def _predict_tags(self, output: Dict[str, Any], emissions: torch.Tensor, entity_tags: Optional[torch.Tensor], mask: torch.BoolTensor) -> None:
        """The tagging head's Viterbi tags into ``output["predicted_tags"]``; with gold tags, the
        tagging F1."""
        head = self.tagging_head
        assert head is not None
        tags = head.decode(emissions, mask)
        output["predicted_tags"] = tags
        if entity_tags is not None and self._tagging_f1 is not None:
            one_hot = torch.nn.functional.one_hot(tags, head.num_tags).float()
            self._tagging_f1(one_hot, entity_tags, mask)

    def _score_triplets(self, output: Dict[str, Any], metadata: List[Dict[str, Any]]) -> None:
        """The sentences' tokens into ``output``, and, with gold triplets, the triplet metric."""
        output["tokens"] = [m["tokens"] for m in metadata]
        if metadata and "gold_triplets" in metadata[0]:
            self._triplet_f1(output["triplets"], [m["gold_triplets"] for m in metadata], tokens=output["tokens"])

    def tag_names(self, indices: List[int]) -> List[str]:
        return [self.vocab.get_token_from_index(i, self.tag_namespace) for i in indices]

    def make_output_human_readable(self, output_dict: Dict[str, Any]) -> Dict[str, Any]:
        readable: Dict[str, Any] = {
            "tokens": output_dict["tokens"],
            "triplets": [readable_triplets(*sentence) for sentence in zip(output_dict["tokens"], output_dict["triplets"])],
        }
        if "predicted_tags" in output_dict and self.tag_namespace is not None:
            readable[self.tags_output_key] = [
                self.tag_names(row[: len(tokens)]) for row, tokens in zip(output_dict["predicted_tags"].tolist(), output_dict["tokens"])
            ]
        return readable

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        if self.training:
            return {}  # sentences are decoded, and scored, only in evaluation
        metrics = self._triplet_f1.get_metric(reset)
        metrics.update(self.other_metrics(reset))
        return metrics

    def other_metrics(self, reset: bool) -> Dict[str, float]:
        """Metrics beside the triplet metric's: the tagging head's span F1 where a model keeps one
        as ``self._tagging_f1`` (CopyMTL, CopyMTL-Set)."""
        tagging_f1 = getattr(self, "_tagging_f1", None)  # models without a tagging head never set it
        if tagging_f1 is None:
            return {}
        tagging = tagging_f1.get_metric(reset)
        return {
            "tagging_precision": float(tagging["precision-overall"]),
            "tagging_recall": float(tagging["recall-overall"]),
            "tagging_f1": float(tagging["f1-measure-overall"]),
        }
