"""``copymtl-convert``: any supported corpus format -> canonical JSONL, with counts.

The rules for locating entity strings and removing repeated triplets are those of
:mod:`copymtl_allennlp.data.formats`. Counts are printed to standard error when done. This module
imports neither torch nor AllenNLP, so that ``copymtl-convert --help`` answers at once.
"""
import argparse
import json
import logging
import os
import sys
from collections import Counter
from typing import List, Optional

from copymtl_allennlp.data.formats import FORMATS, ON_ERROR, DataFormatError, read_sentences

COUNT_LABELS = (
    ("sentences", "sentences written"),
    ("triplets", "triplets written"),
    ("duplicates_removed", "repeated triplets removed"),
    ("multiple_occurrences", "triplets whose head or tail occurs more than once (nearest pair chosen)"),
    ("accent_or_case_folded", "entities found only after removing accents/case"),
    ("entities_not_found", "entities not found in their sentence"),
    ("head_equals_tail", "triplets whose head and tail are the same span (kept)"),
    ("skipped", "bad records skipped (--on-error skip)"),
)


EXAMPLES = """examples:
  copymtl-convert raw/nyt/valid.json data/nyt/dev.jsonl
  copymtl-convert webnlg/train.json data/webnlg_lastword/train.jsonl --format copyre_ids \\
      --words2id webnlg/words2id.json --relations2id webnlg/relations2id.json

formats: jsonl (canonical), copyre_raw (CopyRE's raw NYT), casrel (CasRel / PRGC lists),
copyre_ids (CopyRE's id-encoded files with words2id.json and relations2id.json)"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copymtl-convert",
        description="Converts a corpus in any supported format to the canonical JSONL "
        '({"tokens": [...], "triplets": [{"head": [start, end), "relation": ..., "tail": [start, end)}]}), '
        "printing counts to standard error.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", help="corpus file in any supported format")
    parser.add_argument("output", help="canonical JSONL to write ('-' for standard output)")
    parser.add_argument("--format", default="auto", choices=("auto",) + FORMATS, help="input format (default: detect)")
    parser.add_argument("--words2id", help="copyre_ids: word vocabulary (default: words2id.json beside the input)")
    parser.add_argument(
        "--relations2id", help="copyre_ids: relation vocabulary (default: relations2id.json beside the input)"
    )
    parser.add_argument(
        "--on-error",
        default="raise",
        choices=ON_ERROR,
        help="'raise' stops at the first bad record; 'skip' logs, counts and leaves it out",
    )
    return parser


def _output_problem(output: str) -> Optional[str]:
    """Why the output cannot be written, checked before the input is read."""
    if output == "-":
        return None
    if os.path.isdir(output):
        return "is a directory; give the path of the JSONL file to write"
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        return f"its folder {folder} does not exist"
    if not os.access(folder, os.W_OK) or (os.path.exists(output) and not os.access(output, os.W_OK)):
        return "not writable"
    return None


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    stats: Counter = Counter()
    lines = []
    problem = _output_problem(args.output)
    if problem:
        print(f"copymtl-convert: error: {args.output}: {problem}", file=sys.stderr)
        return 1
    try:
        for _, sentence in read_sentences(
            args.input, args.format, args.words2id, args.relations2id, args.on_error, stats
        ):
            lines.append(json.dumps(sentence.to_json(), ensure_ascii=False))
    except (DataFormatError, OSError) as error:
        print(f"copymtl-convert: error: {error}", file=sys.stderr)
        return 1
    if not lines:
        for key, label in COUNT_LABELS:
            print(f"{label}: {stats[key]}", file=sys.stderr)
        print(f"copymtl-convert: error: {args.input}: no sentence to write; {args.output} not written", file=sys.stderr)
        return 1
    text = "".join(line + "\n" for line in lines)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as error:
            print(f"copymtl-convert: error: {args.output}: {error.strerror}", file=sys.stderr)
            return 1
    for key, label in COUNT_LABELS:
        print(f"{label}: {stats[key]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
