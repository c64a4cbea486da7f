#!/usr/bin/env python
"""Where a trained model loses triplets on a split: the strict metric, then every gold triplet
classified by what the model predicted for it, recall by the number of gold triplets in a sentence
and by a triplet's place in the gold order, and what the wrong predictions were.

    python benchmarks/error_analysis.py runs/x/model.tar.gz ../shared/data/webnlg_exact/dev.jsonl \\
        [-o '{"model.beam_size": 4}'] [--extend-vocab vectors/glove.6B.50d.txt] [--train train.jsonl] [--output out.json]

``--extend-vocab VECTORS`` extends the vocabulary with the split's words as ``allennlp evaluate
--extend-vocab --embedding-sources-mapping '{"source_embedder.token_embedder_tokens": VECTORS}'``
does (README, "Words training never saw"); the report counts the split's tokens the vocabulary
lacks, before and after.

Decoding switches (``model.beam_size``, ``model.max_decoding_triplets``) are read at inference, so
``-o`` scores one archive under each. Categories of a gold triplet (the first that applies):

  correct       predicted exactly (strict)
  boundary      a prediction with the same relation and the same last tokens, other first tokens
                (entity completion: the tags, the length head)
  swapped       predicted with head and tail exchanged
  relation      both spans right, another relation
  one_entity    the relation and one span right, the other entity's last token wrong
  missing       nothing of the above (the sentence's decoding never produced it)

``--train TRAIN`` adds recall by how a gold triplet's entities are written. Where a sentence spells
an entity's name otherwise than the knowledge base, the exact-match WebNLG cuts the gold span at the
first differing word (dev: "Aarhus airport" is annotated "Aarhus", the name being "Aarhus Airport";
"Alan Tukyk" is "Alan"). A gold entity counts as cut when it is a proper prefix of an entity name of
TRAIN and the sentence's next token differs from that name's next word in case alone
(``cut_at_case``) or is a near spelling of it (``cut_at_spelling``: difflib ratio at least 0.7); a
triplet takes the first of ``cut_at_case``, ``cut_at_spelling`` that one of its entities has, else
``whole``. A model that reads no case (an uncased transformer alone) cannot tell where such spans
end.
"""
import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from difflib import SequenceMatcher
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from allennlp.models.archival import load_archive

import copymtl_allennlp.plugin  # noqa: F401  (registers the components)
from copymtl_allennlp.data.formats import read_sentences
from copymtl_allennlp.data.namespaces import RELATION_NAMESPACE
from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.models.triplet_model import WORD_EMBEDDING_PATH, vector_file_words

CATEGORIES = ("correct", "boundary", "swapped", "relation", "one_entity", "missing")
MENTION_KINDS = ("whole", "cut_at_case", "cut_at_spelling")
Name = Tuple[str, ...]


def classify(gold: Triplet, predicted: Sequence[Triplet]) -> str:
    if gold in predicted:
        return "correct"
    last = gold.last_tokens()
    if any(p.last_tokens() == last for p in predicted):
        return "boundary"
    if any(p.relation == gold.relation and p.head == gold.tail and p.tail == gold.head for p in predicted):
        return "swapped"
    if any(p.head == gold.head and p.tail == gold.tail for p in predicted):
        return "relation"
    if any(
        p.relation == gold.relation and ((p.head == gold.head) != (p.tail == gold.tail)) for p in predicted
    ):
        return "one_entity"
    return "missing"


def name_prefixes(names: Iterable[Name]) -> Dict[Name, List[Name]]:
    """Every proper prefix of the entity names -> the names it begins."""
    prefixes: Dict[Name, List[Name]] = defaultdict(list)
    for name in set(names):
        for end in range(1, len(name)):
            prefixes[name[:end]].append(name)
    return dict(prefixes)


def _first_cut(kinds: Iterable[str]) -> str:
    """Of several kinds, the first cut of :data:`MENTION_KINDS` (case before spelling), else ``whole``."""
    found = set(kinds)
    return next((kind for kind in MENTION_KINDS[1:] if kind in found), "whole")


def mention_kind(tokens: Sequence[str], span: Tuple[int, int], prefixes: Dict[Name, List[Name]]) -> str:
    """``cut_at_case``, ``cut_at_spelling`` or ``whole`` for the gold entity ``tokens[span[0]:span[1]]``
    (module docstring)."""
    start, end = span
    if end >= len(tokens):
        return "whole"
    following = tokens[end]
    kinds = set()
    for name in prefixes.get(tuple(tokens[start:end]), ()):
        word = name[end - start]
        if word == following:
            continue
        if word.lower() == following.lower():
            kinds.add("cut_at_case")
        elif SequenceMatcher(None, word, following).ratio() >= 0.7:
            kinds.add("cut_at_spelling")
    return _first_cut(kinds)


def triplet_kind(tokens: Sequence[str], triplet: Triplet, prefixes: Dict[Name, List[Name]]) -> str:
    return _first_cut(mention_kind(tokens, span, prefixes) for span in (triplet.head, triplet.tail))


def training_names(path: str) -> List[Name]:
    """The entity names (token tuples) of a training file, in any format the reader detects."""
    return [
        tuple(sentence.tokens[start:end])
        for _, sentence in read_sentences(path)
        for triplet in sentence.triplets
        for start, end in (triplet.head, triplet.tail)
    ]


def analyse(
    gold_sentences: List[List[Triplet]],
    predicted_sentences: List[List[Triplet]],
    cap: int,
    gold_kinds: Optional[List[List[str]]] = None,
) -> Dict:
    """The report's figures; ``gold_kinds`` (a :data:`MENTION_KINDS` entry for every gold triplet)
    adds ``recall_by_mention``."""
    categories: Counter = Counter()
    by_count: Dict[int, Counter] = defaultdict(Counter)
    by_place: Dict[int, Counter] = defaultdict(Counter)
    wrong_predictions: Counter = Counter()
    count_difference: Counter = Counter()
    by_kind: Dict[str, Counter] = defaultdict(Counter)
    beyond_cap = 0
    for index, (gold, predicted) in enumerate(zip(gold_sentences, predicted_sentences)):
        predicted_set = set(predicted)
        gold_set = set(gold)
        count_difference[max(-3, min(3, len(predicted_set) - len(gold_set)))] += 1
        for place, triplet in enumerate(gold):
            category = classify(triplet, predicted)
            categories[category] += 1
            hit = category == "correct"
            by_count[min(len(gold), 6)]["gold"] += 1
            by_count[min(len(gold), 6)]["found"] += hit
            by_place[min(place + 1, 6)]["gold"] += 1
            by_place[min(place + 1, 6)]["found"] += hit
            if gold_kinds is not None:
                by_kind[gold_kinds[index][place]]["gold"] += 1
                by_kind[gold_kinds[index][place]]["found"] += hit
            beyond_cap += place >= cap
        for triplet in predicted_set - gold_set:
            # what a wrong prediction is, seen from the gold side
            wrong_predictions[classify(triplet, gold) if gold else "no_gold"] += 1
    gold_total = sum(categories.values())
    report = {
        "gold_triplets": gold_total,
        "gold_categories": {c: categories[c] for c in CATEGORIES},
        "gold_categories_share": {c: round(categories[c] / max(gold_total, 1), 4) for c in CATEGORIES},
        "recall_by_gold_count": {
            (f"{k}+" if k == 6 else str(k)): {"gold": v["gold"], "recall": round(v["found"] / v["gold"], 4)}
            for k, v in sorted(by_count.items())
        },
        "recall_by_gold_place": {
            (f"{k}+" if k == 6 else str(k)): {"gold": v["gold"], "recall": round(v["found"] / v["gold"], 4)}
            for k, v in sorted(by_place.items())
        },
        "gold_triplets_beyond_max_triplets": beyond_cap,
        "wrong_predictions": dict(wrong_predictions),
        "sentences_by_predicted_minus_gold_count": {str(k): v for k, v in sorted(count_difference.items())},
    }
    if gold_kinds is not None:
        report["recall_by_mention"] = {
            kind: {"gold": by_kind[kind]["gold"], "recall": round(by_kind[kind]["found"] / max(by_kind[kind]["gold"], 1), 4)}
            for kind in MENTION_KINDS
        }
    return report


def triplet_cap(model) -> int:
    """The most triplets a sentence's decoding can give: the sequence decoder's ``max_triplets``,
    the set decoder's slots; GraphRel and NovelTagging have no cap."""
    decoder = getattr(model, "decoder", None)
    return getattr(decoder, "max_triplets", None) or getattr(decoder, "num_slots", None) or 10**6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive")
    parser.add_argument("data")
    parser.add_argument("-o", "--overrides", default="")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--output", help="write the figures as JSON here")
    parser.add_argument("--extend-vocab", metavar="VECTORS", help="extend the vocabulary with the split's words, vectors from VECTORS")
    parser.add_argument("--train", metavar="TRAIN", help="recall by how the gold entities are written, names from TRAIN")
    args = parser.parse_args()

    archive = load_archive(args.archive, overrides=args.overrides)
    model = archive.model
    model.eval()
    reader = archive.validation_dataset_reader
    instances = list(reader.read(args.data))

    split_tokens = [token for instance in instances for token in instance["metadata"].metadata["tokens"]]
    gold_relations = [t.relation for instance in instances for t in instance["metadata"].metadata["gold_triplets"]]
    relations = model.vocab.get_token_to_index_vocabulary(RELATION_NAMESPACE)
    vocabulary: Dict = {
        "tokens": len(split_tokens),
        "relations": len(relations),
        "gold_triplets_of_unseen_relations": sum(r not in relations for r in gold_relations),
        "unseen_relations": sorted({r for r in gold_relations if r not in relations}),
    }
    if args.extend_vocab and WORD_EMBEDDING_PATH not in model._embeddings():
        parser.error(f"--extend-vocab: {args.archive} has no pretrained word embedding to extend (a transformer embeds every word)")
    if WORD_EMBEDDING_PATH in model._embeddings():  # word vectors (a transformer embeds every word)
        known = model.vocab.get_token_to_index_vocabulary("tokens")
        unknown = [token for token in split_tokens if token not in known]
        vocabulary.update(words=len(known) - 2, unknown_tokens=len(unknown), unknown_words=len(set(unknown)))  # less padding, @@UNKNOWN@@
        if args.extend_vocab:
            model.vocab.extend_from_instances(instances)
            model.extend_embedder_vocab({WORD_EMBEDDING_PATH: args.extend_vocab})
            # a new word without a vector reads as the unknown word (its row is the unknown word's)
            with_vectors = set(vector_file_words(args.extend_vocab))
            still = [token for token in unknown if token not in with_vectors]
            vocabulary.update(extended_with=args.extend_vocab, unknown_tokens_after_extension=len(still), unknown_words_after_extension=len(set(still)))
    for instance in instances:
        instance.index_fields(model.vocab)
    model.get_metrics(reset=True)
    gold, predicted = [], []
    started = time.perf_counter()
    order = sorted(range(len(instances)), key=lambda i: len(instances[i]["source_tokens"]))
    outputs: Dict[int, List[Triplet]] = {}
    for start in range(0, len(order), args.batch_size):
        chunk = order[start : start + args.batch_size]
        results = model.forward_on_instances([instances[i] for i in chunk])
        for index, result in zip(chunk, results):
            outputs[index] = [
                Triplet(t["relation"], tuple(t["head_span"]), tuple(t["tail_span"])) for t in result["triplets"]
            ]
    seconds = time.perf_counter() - started
    for index, instance in enumerate(instances):
        gold.append(instance["metadata"].metadata["gold_triplets"])
        predicted.append(outputs[index])
    metrics = model.get_metrics(reset=True)
    gold_kinds = None
    if args.train:
        prefixes = name_prefixes(training_names(args.train))
        gold_kinds = [
            [triplet_kind(instance["metadata"].metadata["tokens"], triplet, prefixes) for triplet in gold[index]]
            for index, instance in enumerate(instances)
        ]
    report = {
        "archive": args.archive,
        "data": args.data,
        "overrides": args.overrides,
        "metrics": {k: round(v, 4) for k, v in metrics.items()},
        "decoding_seconds": round(seconds, 1),
        "vocabulary": vocabulary,
        "sentences": len(instances),
        **analyse(gold, predicted, triplet_cap(model), gold_kinds),
    }
    text = json.dumps(report, indent=1)
    if args.output:
        os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
        with open(args.output, "w") as handle:
            handle.write(text + "\n")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
