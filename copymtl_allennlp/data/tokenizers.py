from typing import List

import spacy
from allennlp.data.tokenizers import Token, Tokenizer


@Tokenizer.register("spacy_rules")
class SpacyRulesTokenizer(Tokenizer):
    """spaCy's rule-based tokenizer for a language (``spacy.blank``): punctuation split off as in
    the NYT and WebNLG corpora ("Jobs, 56," -> ``Jobs , 56 ,``), and nothing to download, unlike
    AllenNLP's ``SpacyTokenizer``, which loads a statistical model."""

    def __init__(self, language: str = "en") -> None:
        self.language = language
        self._nlp = spacy.blank(language)

    def tokenize(self, text: str) -> List[Token]:
        return [Token(t.text, idx=t.idx) for t in self._nlp.tokenizer(text) if not t.is_space]
