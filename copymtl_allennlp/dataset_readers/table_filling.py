from collections import Counter
from typing import Dict, List, Optional

from allennlp.data import DatasetReader
from allennlp.data.fields import Field, TextField

from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.dataset_readers.triplet_reader import TripletDatasetReader, triplet_target_fields


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


@DatasetReader.register("table_filling")
class TableFillingDatasetReader(TripletDatasetReader):
    """Reads sentences with triplets for the table-filling models (TPLinker). Reading, sharding,
    errors and counts as :class:`TripletDatasetReader`. Each instance has ``source_tokens``,
    ``metadata`` and, with gold data, every triplet as targets (``target_relations``,
    ``target_spans``: :func:`triplet_target_fields`); the model builds the tag tables from them.
    Triplets the handshaking tags cannot tell apart are counted (``handshaking_collisions``)."""

    def warnings(self) -> Dict[str, str]:
        return {"handshaking_collisions": "triplets sharing a handshaking cell with a triplet of their relation in the opposite direction"}

    def gold_fields(
        self, source_field: TextField, triplets: List[Triplet], line: int, stats: Optional[Counter]
    ) -> Dict[str, Field]:
        if stats is not None:
            stats["handshaking_collisions"] += handshaking_collisions(triplets)
        return triplet_target_fields(triplets)
