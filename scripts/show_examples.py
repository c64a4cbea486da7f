#!/usr/bin/env python
"""Prints the triplets a trained model extracts from raw sentences (one per line of a file),
through the package's Python API.

    python scripts/show_examples.py runs/demo/model.tar.gz fixtures/demo/examples.txt
"""
import sys

from copymtl_allennlp import load_extractor


def main(archive: str, sentences_file: str) -> None:
    with open(sentences_file, encoding="utf-8") as handle:
        sentences = [line.strip() for line in handle if line.strip()]
    extract = load_extractor(archive)
    for sentence, triplets in zip(sentences, extract(sentences)):
        print(sentence)
        for t in triplets:
            print(f"    ({t['relation']}, {t['head']!r} {t['head_span']}, {t['tail']!r} {t['tail_span']})")
        if not triplets:
            print("    (no triplet)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
