"""``copymtl-model-card``: prints the model card of an archive (or a serialization directory).

    copymtl-model-card runs/prime5_glove/model.tar.gz
    copymtl-model-card runs/prime5_glove/model.tar.gz --json     # the card as JSON (allennlp-models' layout)
    copymtl-model-card runs/prime5_glove --write --command "allennlp train ..."   # (re)write a run's card

Every config's ``model_card`` callback writes ``model_card.json`` at the end of training and puts
it into the archive (copymtl_allennlp/training/model_card.py). This command reads it back without
loading the model (no torch, no AllenNLP). With ``--write`` it builds the card of a serialization
directory from its config.json and metrics.json (for a run trained without the callback, or to
record the training command), writes model_card.json there and archives model.tar.gz again with it
(AllenNLP's ``archive_model``, the weights of best.th).
"""
import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional

from copymtl_allennlp.archives import ArchiveError, opened_archive

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
    try:
        with opened_archive(path) as (archive, names):
            if CARD_NAME not in names:
                raise CardError(
                    f"{path}: the archive holds no {CARD_NAME} (trained before model cards, or without the model_card"
                    " callback and include_in_archive of copymtl.libsonnet)"
                )
            return json.load(archive.extractfile(CARD_NAME))  # type: ignore[arg-type]
    except ArchiveError as error:
        raise CardError(str(error)) from None


def write_card(serialization_dir: str, command: str) -> None:
    """model_card.json of a finished run, and its model.tar.gz archived again with it."""
    for name in ("config.json", "metrics.json", "best.th"):
        if not os.path.isfile(os.path.join(serialization_dir, name)):
            raise CardError(f"{serialization_dir}: no {name} (--write needs the serialization directory of a finished run)")
    import copymtl_allennlp.plugin  # noqa: F401  (AllenNLP, registered components)
    from allennlp.models.archival import archive_model

    from copymtl_allennlp.training.model_card import build_model_card, card_to_json

    with open(os.path.join(serialization_dir, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    with open(os.path.join(serialization_dir, "metrics.json"), encoding="utf-8") as handle:
        metrics = json.load(handle)
    card = card_to_json(build_model_card(config, metrics, command or "(not recorded)"))
    with open(os.path.join(serialization_dir, CARD_NAME), "w", encoding="utf-8") as handle:
        json.dump(card, handle, indent=2)
    archive_model(serialization_dir, include_in_archive=[CARD_NAME])


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
    parser.add_argument("--write", action="store_true", help="build the card of a serialization directory and re-archive it")
    parser.add_argument("--command", default="", help="with --write: the command that trained the run, recorded in the card")
    args = parser.parse_args(argv)
    try:
        if args.write:
            write_card(args.archive, args.command)
        card = read_card(args.archive)
    except CardError as error:
        print(f"copymtl-model-card: {error}", file=sys.stderr)
        return 1
    print(json.dumps(card, indent=2) if args.json else card_text(card))
    return 0


if __name__ == "__main__":
    sys.exit(main())
