"""Parsers for every data format the package reads, all producing :class:`Sentence` records.

Formats (``format=`` in the reader and the converter; ``auto`` detects them):

``jsonl``       the canonical format, one sentence per line:
                ``{"tokens": [...], "triplets": [{"head": [s, e), "relation": r, "tail": [s, e)}]}``
``json``        canonical records as one JSON list: ``[{"tokens": [...], "triplets": [...]}, ...]``
``copyre_raw``  CopyRE's raw NYT, one object per line:
                ``{"sentText": "...", "relationMentions": [{"em1Text", "em2Text", "label"}]}``
``casrel``      CasRel / PRGC, one JSON list: ``[{"text": "...", "triple_list": [[h, r, t]]}]``
``copyre_ids``  CopyRE's id-encoded files, ``[sentences_as_word_ids, triplets]`` where a sentence's
                triplets are a flat list ``[head_end, tail_end, relation_id, ...]``, decoded with
                ``words2id.json`` and ``relations2id.json`` (by default found beside the data file).
                Entities are last tokens only, so every span has width 1.

Text formats (``copyre_raw``, ``casrel``) are split on whitespace, and entity strings are located
in the tokens. The rule, applied per triplet:

1. the occurrences of an entity are the places where its tokens appear verbatim; when there are
   none, the places where they match after removing accents and case (``Bogotá`` in a text that
   says ``Bogota``), counted as ``accent_or_case_folded``;
2. when head or tail occurs more than once, the (head, tail) pair of occurrences with the smallest
   number of tokens between them is chosen, a pair of non-overlapping spans preferred; ties go
   to the leftmost head, then the leftmost tail (counted as ``multiple_occurrences``);
3. an entity that is not found at all is an error (or, with ``on_error="skip"``, the sentence is
   skipped and counted).

Within a sentence, repeated triplets are removed (the first one kept) and counted. Files are
UTF-8 (a byte-order mark is read as one); a byte that is not UTF-8 is a located error. Canonical
JSONL records hold exactly ``tokens`` and ``triplets`` (an empty list for a sentence without
triplets): a missing ``triplets`` or another field is an error, so that a misspelt key does not
read as a sentence without triplets. A token is a string with a non-whitespace character.

Every format may come compressed, by the suffix of the file's name (``.gz``, ``.bz2``, ``.xz``),
the rule by which ``allennlp predict`` reads compressed input too. A path that is not a file
raises :class:`DataFileNotFound`, one line naming it.
"""
import bz2
import codecs
import gzip
import json
import logging
import lzma
import os
import re
import unicodedata
from collections import Counter
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from copymtl_allennlp.data.triplets import Sentence, Span, Triplet, deduplicate

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "json", "copyre_raw", "casrel", "copyre_ids")
ON_ERROR = ("raise", "skip")


class DataFileNotFound(FileNotFoundError):
    """A data path that is not a file: ``<path>: no such file ...``, one line saying what to check."""

    def __init__(self, path: str, problem: str = "no such file") -> None:
        super().__init__(
            f"{path}: {problem} (check the data path: the configs read WEBNLG_TRAIN_PATH, WEBNLG_DEV_PATH, "
            "NYT_TRAIN_PATH and NYT_DEV_PATH from the environment)"
        )
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0])


class DataFormatError(ValueError):
    """Bad input, located: ``<file>, line <n>: <problem>``.

    ``unit`` is ``"sentence"`` for CopyRE's id-encoded files, whose sentences are not on lines.
    """

    def __init__(self, path: str, line: int, problem: str, unit: str = "line") -> None:
        super().__init__(f"{path}, {unit} {line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class RecordError(ValueError):
    """A problem with one record, before the file and line are known."""


# --------------------------------------------------------------------------------------------
# Reading files record by record, with line numbers
# --------------------------------------------------------------------------------------------


# compressed files by the suffix of their name, the rule of `allennlp predict` (AllenNLP's
# open_compressed): every entry point reads the same files
_COMPRESSED = ((".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open))


def open_data(path: "os.PathLike[str] | str") -> IO[bytes]:
    """A data file opened for reading bytes: plain, or compressed by the suffix of its name
    (``.gz``, ``.bz2``, ``.xz``). A missing path raises :class:`DataFileNotFound` naming it."""
    if not os.path.exists(path):
        raise DataFileNotFound(os.fspath(path))
    if os.path.isdir(path):
        raise DataFileNotFound(os.fspath(path), "is a directory, not a data file")
    for suffix, opener in _COMPRESSED:
        if os.fspath(path).endswith(suffix):
            return opener(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _jsonl_records(path: str) -> Iterator[Tuple[int, bytes]]:
    """Non-blank lines, undecoded: a line that is not UTF-8 or not JSON is the record's problem
    (skippable). A UTF-8 byte-order mark at the start of the file is dropped."""
    with open_data(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            if line_number == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
            if line.strip():
                yield line_number, line


def _decoding_problem(data: bytes, error: UnicodeDecodeError) -> str:
    column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
    return f"not UTF-8 (byte 0x{data[error.start]:02x} at column {column})"


def _parse_line(line: bytes) -> Any:
    try:
        text = line.decode("utf-8").rstrip("\r\n")  # so that a column is one of this line
    except UnicodeDecodeError as error:
        raise RecordError(_decoding_problem(line, error))
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(f"malformed JSON ({error.msg}, column {error.colno})")


def _read_text(path: str) -> str:
    """A whole file as text (a leading byte-order mark dropped); not UTF-8 is located."""
    with open_data(path) as handle:
        data = handle.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFormatError(path, data.count(b"\n", 0, error.start) + 1, _decoding_problem(data, error))


def _json_array_records(path: str) -> Iterator[Tuple[int, Any]]:
    """The elements of a top-level JSON list, each with the line on which it starts."""
    text = _read_text(path)
    decoder = json.JSONDecoder()

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    def skip_space(offset: int) -> int:
        while offset < len(text) and text[offset] in " \t\r\n":
            offset += 1
        return offset

    offset = skip_space(0)
    if offset >= len(text) or text[offset] != "[":
        raise DataFormatError(path, line_of(offset), "expected a JSON list ('[') at the start of the file")
    offset = skip_space(offset + 1)
    if offset < len(text) and text[offset] == "]":
        return
    while True:
        try:
            element, end = decoder.raw_decode(text, offset)
        except json.JSONDecodeError as error:
            raise DataFormatError(path, error.lineno, f"malformed JSON ({error.msg}, column {error.colno})")
        yield line_of(offset), element
        offset = skip_space(end)
        if offset < len(text) and text[offset] == ",":
            offset = skip_space(offset + 1)
            continue
        if offset < len(text) and text[offset] == "]":
            return
        raise DataFormatError(path, line_of(offset), "malformed JSON (expected ',' or ']' in the top-level list)")


def detect_format(path: str) -> str:
    """Guesses the format from the first non-blank content of the file."""
    with open_data(path) as handle:
        head = handle.read(4096)
    # for detection only: a bad byte here is reported, located, when the records are read
    stripped = head.decode("utf-8-sig", errors="replace").lstrip()
    if not stripped:
        raise DataFormatError(path, 1, "the file is empty")
    if stripped.startswith("["):
        rest = stripped[1:].lstrip()
        if rest.startswith("[") or rest.startswith("]"):
            return "copyre_ids"
        # the first record's own keys (up to its first nested value): canonical records have tokens
        first = re.split(r"[\[{]", rest[1:], maxsplit=1)[0] if rest.startswith("{") else ""
        if '"tokens"' in first and '"text"' not in first:
            return "json"
        return "casrel"
    if '"sentText"' in stripped.split("\n", 1)[0]:
        return "copyre_raw"
    return "jsonl"


# --------------------------------------------------------------------------------------------
# Field checks
# --------------------------------------------------------------------------------------------


def _field(record: Any, key: str, kind: type, what: str) -> Any:
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {type(record).__name__}")
    if key not in record:
        raise RecordError(f"missing field '{key}'")
    value = record[key]
    if not isinstance(value, kind):
        raise RecordError(f"field '{key}' must be {what}, got {type(value).__name__}")
    return value


def _tokens_of_text(text: str) -> List[str]:
    tokens = text.split()
    if not tokens:
        raise RecordError("empty sentence")
    return tokens


# --------------------------------------------------------------------------------------------
# Locating entity strings in tokens
# --------------------------------------------------------------------------------------------


def _fold(token: str) -> str:
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _occurrences(tokens: Sequence[str], entity: Sequence[str]) -> List[Span]:
    width = len(entity)
    return [(i, i + width) for i in range(len(tokens) - width + 1) if list(tokens[i : i + width]) == list(entity)]


class EntityLocator:
    """Finds entity strings in a token list by the rule in this module's docstring."""

    def __init__(self, stats: Counter) -> None:
        self.stats = stats

    def occurrences(self, tokens: Sequence[str], entity: str, role: str) -> List[Span]:
        entity_tokens = entity.split()
        if not entity_tokens:
            raise RecordError(f"empty {role} entity string")
        found = _occurrences(tokens, entity_tokens)
        if not found:
            found = _occurrences([_fold(t) for t in tokens], [_fold(t) for t in entity_tokens])
            if found:
                self.stats["accent_or_case_folded"] += 1
        if not found:
            self.stats["entities_not_found"] += 1
            raise RecordError(f"{role} entity {entity!r} not found in the sentence")
        return found

    def locate(self, tokens: Sequence[str], head: str, tail: str) -> Tuple[Span, Span]:
        heads = self.occurrences(tokens, head, "head")
        tails = self.occurrences(tokens, tail, "tail")
        if len(heads) > 1 or len(tails) > 1:
            self.stats["multiple_occurrences"] += 1
        candidates = [(h, t) for h in heads for t in tails]
        return min(candidates, key=lambda pair: (_overlap(*pair), _gap(*pair), pair[0], pair[1]))


def _gap(first: Span, second: Span) -> int:
    """Tokens between two spans (0 when adjacent or overlapping)."""
    return max(0, max(first[0], second[0]) - min(first[1], second[1]))


def _overlap(first: Span, second: Span) -> bool:
    return max(first[0], second[0]) < min(first[1], second[1])


# --------------------------------------------------------------------------------------------
# One record of each format -> Sentence
# --------------------------------------------------------------------------------------------


def _span(value: Any, role: str, num_tokens: int) -> Span:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise RecordError(f"{role} must be a list [start, end) of two integers, got {value!r}")
    start, end = value
    if not 0 <= start < end <= num_tokens:
        raise RecordError(f"{role} span [{start}, {end}) out of range for a sentence of {num_tokens} tokens")
    return start, end


JSONL_FIELDS = ("tokens", "triplets")


def token_problem(tokens: Sequence[Any]) -> Optional[str]:
    """What is wrong with a token list, or ``None``: the one rule of the reader and the predictor
    (a token is a string with at least one non-whitespace character)."""
    if not tokens:
        return "empty sentence"
    for index, token in enumerate(tokens):
        if not isinstance(token, str):
            return f"token {index} must be a string, got {type(token).__name__}"
        if not token.strip():
            return f"token {index} is {'empty' if not token else 'whitespace only'} ({token!r})"
    return None


def sentence_from_jsonl(record: Any) -> Sentence:
    tokens = _field(record, "tokens", list, "a list of strings")
    problem = token_problem(tokens)
    if problem:
        raise RecordError(problem)
    unknown = [key for key in record if key not in JSONL_FIELDS]
    if unknown:
        raise RecordError(f"unknown field {unknown[0]!r} (a record holds 'tokens' and 'triplets')")
    if "triplets" not in record:
        raise RecordError("missing field 'triplets' (a list, empty for a sentence without triplets)")
    raw_triplets = record["triplets"]
    if not isinstance(raw_triplets, list):
        raise RecordError("field 'triplets' must be a list")
    triplets = []
    for number, raw in enumerate(raw_triplets):
        try:
            relation = _field(raw, "relation", str, "a string")
            if not relation:
                raise RecordError("empty relation")
            head = _span(_field(raw, "head", list, "a list [start, end)"), "head", len(tokens))
            tail = _span(_field(raw, "tail", list, "a list [start, end)"), "tail", len(tokens))
        except RecordError as error:
            raise RecordError(f"triplet {number}: {error}")
        triplets.append(Triplet(relation, head, tail))
    return Sentence(list(tokens), triplets)


def _text_sentence(text: str, mentions: List[Tuple[str, str, str]], locator: EntityLocator) -> Sentence:
    tokens = _tokens_of_text(text)
    triplets = []
    for number, (head, relation, tail) in enumerate(mentions):
        try:
            if not relation:
                raise RecordError("empty relation")
            head_span, tail_span = locator.locate(tokens, head, tail)
        except RecordError as error:
            raise RecordError(f"triplet {number}: {error}")
        triplets.append(Triplet(relation, head_span, tail_span))
    return Sentence(tokens, triplets)


def sentence_from_copyre_raw(record: Any, locator: EntityLocator) -> Sentence:
    text = _field(record, "sentText", str, "a string")
    mentions = []
    for number, mention in enumerate(_field(record, "relationMentions", list, "a list")):
        try:
            mentions.append(
                (
                    _field(mention, "em1Text", str, "a string"),
                    _field(mention, "label", str, "a string"),
                    _field(mention, "em2Text", str, "a string"),
                )
            )
        except RecordError as error:
            raise RecordError(f"relation mention {number}: {error}")
    return _text_sentence(text, mentions, locator)


def sentence_from_casrel(record: Any, locator: EntityLocator) -> Sentence:
    text = _field(record, "text", str, "a string")
    mentions = []
    for number, triple in enumerate(_field(record, "triple_list", list, "a list")):
        if not (isinstance(triple, list) and len(triple) == 3 and all(isinstance(x, str) for x in triple)):
            raise RecordError(f"triple {number}: expected [head, relation, tail] strings, got {triple!r}")
        mentions.append((triple[0], triple[1], triple[2]))
    return _text_sentence(text, mentions, locator)


class IdDecoder:
    """Decodes CopyRE's id-encoded sentences with its ``words2id.json`` / ``relations2id.json``."""

    PAD = 0

    def __init__(self, words2id_path: str, relations2id_path: str) -> None:
        self.id2word = self._invert(words2id_path, "word")
        self.id2relation = self._invert(relations2id_path, "relation")

    @staticmethod
    def _invert(path: str, what: str) -> Dict[int, str]:
        try:
            mapping = json.loads(_read_text(path))
        except FileNotFoundError:
            raise DataFormatError(path, 1, f"{what} vocabulary not found (needed by the copyre_ids format)")
        except json.JSONDecodeError as error:
            raise DataFormatError(path, error.lineno, f"malformed JSON ({error.msg})")
        if not isinstance(mapping, dict):
            raise DataFormatError(path, 1, f"expected a JSON object mapping {what}s to ids")
        return {int(index): name for name, index in mapping.items()}

    def sentence(self, word_ids: Any, flat_triplets: Any) -> Sentence:
        if not isinstance(word_ids, list) or not all(isinstance(i, int) for i in word_ids):
            raise RecordError("a sentence must be a list of word ids")
        while word_ids and word_ids[-1] == self.PAD:
            word_ids = word_ids[:-1]
        if not word_ids:
            raise RecordError("empty sentence")
        unknown = [i for i in word_ids if i not in self.id2word]
        if unknown:
            raise RecordError(f"word id {unknown[0]} is not in words2id.json")
        tokens = [self.id2word[i] for i in word_ids]
        if not isinstance(flat_triplets, list) or len(flat_triplets) % 3:
            raise RecordError("triplets must be a flat list [head_end, tail_end, relation_id, ...]")
        triplets = []
        for number in range(len(flat_triplets) // 3):
            head_end, tail_end, relation_id = flat_triplets[3 * number : 3 * number + 3]
            if relation_id not in self.id2relation:
                raise RecordError(f"triplet {number}: relation id {relation_id} is not in relations2id.json")
            for role, end in (("head", head_end), ("tail", tail_end)):
                if not isinstance(end, int) or not 0 <= end < len(tokens):
                    raise RecordError(
                        f"triplet {number}: {role} position {end!r} out of range for a sentence of {len(tokens)} tokens"
                    )
            triplets.append(Triplet(self.id2relation[relation_id], (head_end, head_end + 1), (tail_end, tail_end + 1)))
        return Sentence(tokens, triplets)


# --------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------


def read_sentences(
    path: str,
    format: str = "auto",
    words2id_path: Optional[str] = None,
    relations2id_path: Optional[str] = None,
    on_error: str = "raise",
    stats: Optional[Counter] = None,
) -> Iterator[Tuple[int, Sentence]]:
    """Yields ``(line, sentence)`` for every sentence of ``path``, repeated triplets removed.

    Bad records raise :class:`DataFormatError` naming the file, the line and the problem; with
    ``on_error="skip"`` they are logged, counted in ``stats["skipped"]`` and left out instead.
    ``stats`` (a ``Counter``) also receives ``sentences``, ``triplets`` (after duplicate removal),
    ``duplicates_removed``, ``accent_or_case_folded``, ``multiple_occurrences``,
    ``entities_not_found`` and ``head_equals_tail`` (triplets whose head and tail are the same
    span: kept, as the benchmarks' gold has them, e.g. 41 in WebNLG exact train).
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    stats = Counter() if stats is None else stats
    # an error in a file whose format was guessed says what it was read as
    detected = ""
    if format == "auto":
        format = detect_format(path)
        detected = f" (read as {format}, detected from the start of the file; the format option chooses another)"
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected 'auto' or one of {FORMATS}")
    locator = EntityLocator(stats)

    records: Iterator[Tuple[int, Any]]
    convert: Callable[[Any], Sentence]
    if format == "jsonl":
        records, convert = _jsonl_records(path), lambda line: sentence_from_jsonl(_parse_line(line))
    elif format == "copyre_raw":
        records, convert = _jsonl_records(path), lambda line: sentence_from_copyre_raw(_parse_line(line), locator)
    elif format == "json":
        records, convert = _json_array_records(path), sentence_from_jsonl
    elif format == "casrel":
        records, convert = _json_array_records(path), lambda record: sentence_from_casrel(record, locator)
    else:
        directory = os.path.dirname(path)
        decoder = IdDecoder(
            words2id_path or os.path.join(directory, "words2id.json"),
            relations2id_path or os.path.join(directory, "relations2id.json"),
        )
        records, convert = _copyre_id_records(path), lambda record: decoder.sentence(*record)

    for line, record in records:
        try:
            sentence = convert(record)
        except RecordError as error:
            located = DataFormatError(path, line, f"{error}{detected}", "sentence" if format == "copyre_ids" else "line")
            if on_error == "raise":
                raise located from None
            stats["skipped"] += 1
            logger.warning("skipped: %s", located)
            continue
        sentence.triplets, dropped = deduplicate(sentence.triplets)
        stats["duplicates_removed"] += dropped
        stats["head_equals_tail"] += sum(t.head == t.tail for t in sentence.triplets)
        stats["sentences"] += 1
        stats["triplets"] += len(sentence.triplets)
        yield line, sentence


def _copyre_id_records(path: str) -> Iterator[Tuple[int, Any]]:
    """CopyRE id files hold two parallel lists; a record's 'line' is its sentence number (1-based)."""
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise DataFormatError(path, error.lineno, f"malformed JSON ({error.msg}, column {error.colno})")
    if not (isinstance(data, list) and len(data) == 2 and all(isinstance(part, list) for part in data)):
        raise DataFormatError(path, 1, "expected [sentences_as_word_ids, triplets], two parallel lists")
    sentences, triplets = data
    if len(sentences) != len(triplets):
        raise DataFormatError(
            path, 1, f"{len(sentences)} sentences but {len(triplets)} triplet lists: the two lists must be parallel"
        )
    for number, record in enumerate(zip(sentences, triplets), start=1):
        yield number, record
