"""``copymtl-model-card``: prints the model card of an archive (or a serialization directory).

    copymtl-model-card runs/prime5_glove/model.tar.gz
    copymtl-model-card runs/prime5_glove/model.tar.gz --json     # the card as JSON (allennlp-models' layout)

Every config's ``model_card`` callback writes ``model_card.json`` at the end of training and puts
it into the archive (copymtl_allennlp/training/model_card.py). This command reads it back without
loading the model (no torch, no AllenNLP).
"""
import argparse
import json
import os
import sys
import tarfile
from typing import Any, Dict, List, Optional

CARD_NAME = "model_card.json"


class CardError(RuntimeError):
    """No card to read."""


def read_card(path: str) -> Dict[str, Any]:
    """The card of an archive (``model.tar.gz``) or a serialization directory."""
    if os.path.isdir(path):
        card = os.path.join(path, CARD_NAME)
        if not os.path.isfile(card):
            raise CardError(f"{path}: no {CARD_NAME} (the model_card callback writes it at the end of training)")
        with open(card, encoding="utf-8") as handle:
            return json.load(handle)
    if not os.path.isfile(path):
        raise CardError(f"{path}: no such archive or directory")
    try:
        with tarfile.open(path) as archive:
            try:
                member = archive.extractfile(CARD_NAME)
            except KeyError:
                raise CardError(
                    f"{path}: the archive holds no {CARD_NAME} (trained before model cards, or without the model_card"
                    " callback and include_in_archive of copymtl.libsonnet)"
                ) from None
            return json.load(member)  # type: ignore[arg-type]
    except (tarfile.TarError, EOFError, OSError) as error:
        raise CardError(f"{path}: not a readable model archive ({error})") from None


def card_text(data: Dict[str, Any]) -> str:
    """The card as a reader sees it: one ``section.field: value`` line per filled field."""
    lines = []
    for key, item in data.items():
        if isinstance(item, dict):
            for field, content in item.items():
                if isinstance(content, dict):
                    content = ", ".join(f"{k}: {v}" for k, v in content.items() if v)
                if content:
                    lines.append(f"{key}.{field}: {content}")
        elif item:
            lines.append(f"{key}: {item}")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="copymtl-model-card", description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", help="model.tar.gz, or a serialization directory")
    parser.add_argument("--json", action="store_true", help="print the card as JSON")
    args = parser.parse_args(argv)
    try:
        card = read_card(args.archive)
    except CardError as error:
        print(f"copymtl-model-card: {error}", file=sys.stderr)
        return 1
    print(json.dumps(card, indent=2) if args.json else card_text(card))
    return 0


if __name__ == "__main__":
    sys.exit(main())
