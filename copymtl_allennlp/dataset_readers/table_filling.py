from collections import Counter
from typing import Dict, List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader
from allennlp.data.fields import Field, TextField

from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.dataset_readers.triplet_reader import TripletDatasetReader, triplet_target_fields
from copymtl_allennlp.modules.horns_tagging import decode_horns, horns_tags

TAG_SCHEMES = ("handshaking", "horns")


def handshaking_collisions(triplets: List[Triplet]) -> int:
    """The triplets whose head or tail link shares its handshaking cell with another triplet of
    the same relation in the opposite direction (the cell keeps one tag; see
    :mod:`~copymtl_allennlp.modules.handshaking`)."""
    cells: Dict[tuple, set] = {}
    for t in triplets:
        for a, b, kind in ((t.head[0], t.tail[0], "head"), (t.head[1] - 1, t.tail[1] - 1, "tail")):
            cells.setdefault((kind, t.relation, min(a, b), max(a, b)), set()).add(a <= b)
    clashing = {key for key, directions in cells.items() if len(directions) > 1}
    return sum(
        any(
            (kind, t.relation, min(a, b), max(a, b)) in clashing
            for a, b, kind in ((t.head[0], t.tail[0], "head"), (t.head[1] - 1, t.tail[1] - 1, "tail"))
        )
        for t in triplets
    )


def horns_ambiguities(triplets: List[Triplet]) -> int:
    """The triplets that the horns tags of a sentence's ``triplets`` do not decode back to (two
    triplets of one relation whose rectangles share corners; see
    :mod:`~copymtl_allennlp.modules.horns_tagging`)."""
    if not triplets:
        return 0
    relations = {r: i for i, r in enumerate(dict.fromkeys(t.relation for t in triplets))}
    length = max(max(t.head[1], t.tail[1]) for t in triplets)
    tags = horns_tags(
        torch.tensor([[relations[t.relation] for t in triplets]]),
        torch.tensor([[[*t.head, *t.tail] for t in triplets]]),
        length,
        len(relations),
    )
    decoded = set(decode_horns(tags, [length])[0])
    return sum((relations[t.relation], t.head, t.tail) not in decoded for t in triplets)


@DatasetReader.register("table_filling")
class TableFillingDatasetReader(TripletDatasetReader):
    """Reads sentences with triplets for the table-filling models (TPLinker, OneRel). Reading,
    sharding, errors and counts as :class:`TripletDatasetReader`. Each instance has
    ``source_tokens``, ``metadata`` and, with gold data, every triplet as targets
    (``target_relations``, ``target_spans``: :func:`triplet_target_fields`); the model builds the
    tag tables from them. ``tag_scheme`` names the model's tags, for the count of the gold triplets
    they lose: ``"handshaking"`` (TPLinker): triplets the tags cannot tell apart
    (``handshaking_collisions``); ``"horns"`` (OneRel): triplets their tags do not decode back to
    (``horns_ambiguities``)."""

    def __init__(self, tag_scheme: str = "handshaking", **kwargs) -> None:
        super().__init__(**kwargs)
        if tag_scheme not in TAG_SCHEMES:
            raise ConfigurationError(f"tag_scheme must be one of {TAG_SCHEMES}, got {tag_scheme!r}")
        self.tag_scheme = tag_scheme

    def warnings(self) -> Dict[str, str]:
        if self.tag_scheme == "horns":
            return {"horns_ambiguities": "triplets that their horns tags do not decode back to"}
        return {"handshaking_collisions": "triplets sharing a handshaking cell with a triplet of their relation in the opposite direction"}

    def gold_fields(
        self, source_field: TextField, triplets: List[Triplet], line: int, stats: Optional[Counter]
    ) -> Dict[str, Field]:
        if stats is not None:
            if self.tag_scheme == "horns":
                stats["horns_ambiguities"] += horns_ambiguities(triplets)
            else:
                stats["handshaking_collisions"] += handshaking_collisions(triplets)
        return triplet_target_fields(triplets)
