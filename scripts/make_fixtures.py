#!/usr/bin/env python
"""Writes fixtures/data/: the same tiny hand-written corpus in every supported format.

``sentences.jsonl`` is the truth (canonical JSONL, full spans). ``copyre_raw.json`` and
``casrel.json`` carry the entity strings (one written with accents that the text lacks, and one
entity that occurs twice, ``Texas#2`` naming the occurrence meant, to exercise the locating rule); ``copyre_ids/`` carries last-token
positions with its own vocabularies. Run from the repository root:

    python scripts/make_fixtures.py
"""
import json
import os

OUT = "fixtures/data"

# (text, [(head, relation, tail, head_as_written_in_raw_formats)])
SENTENCES = [
    ("Steven Jobs , the founder of Apple Computer , was born in San Francisco , California .",
     [("Steven Jobs", "founder_of", "Apple Computer"), ("Steven Jobs", "born_in", "San Francisco"),
      ("San Francisco", "located_in", "California"), ("California", "contains", "San Francisco")]),
    ("In Bogota , Colombia , the mayor met officials of Avianca Airlines on Monday .",
     [("Bogotá", "located_in", "Colombia"), ("Colombia", "contains", "Bogotá"), ("Colombia", "capital", "Bogotá")]),
    ("Maria Lopez studied at the University of Texas and later taught in Austin , Texas .",
     [("Maria Lopez", "studied_at", "University of Texas"), ("Austin", "located_in", "Texas#2")]),
    ("Alan Bean , who was part of Apollo 12 , was born in Wheeler , Texas .",
     [("Alan Bean", "crew_member_of", "Apollo 12"), ("Alan Bean", "born_in", "Wheeler"), ("Alan Bean", "born_in", "Wheeler")]),
    ("The New York Times reported that Paris is the capital of France .",
     [("France", "capital", "Paris"), ("France", "contains", "Paris")]),
    ("Carlos Mesa resigned in La Paz , Bolivia , after weeks of protests .",
     [("Carlos Mesa", "nationality", "Bolivia"), ("La Paz", "located_in", "Bolivia")]),
    ("Lena Park joined Vovo Motors in Seoul .",
     [("Lena Park", "works_for", "Vovo Motors"), ("Vovo Motors", "headquartered_in", "Seoul")]),
    ("A quiet town with no famous residents .", []),
]


def fold(text):
    import unicodedata
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def span(tokens, entity):
    """The occurrence meant: the first, or the n-th for ``"Texas#n"``."""
    entity, _, nth = entity.partition("#")
    parts = fold(entity).split()
    starts = [i for i in range(len(tokens) - len(parts) + 1) if tokens[i : i + len(parts)] == parts]
    start = starts[int(nth or 1) - 1]
    return start, start + len(parts)


def written(entity):
    return entity.partition("#")[0]


def main():
    os.makedirs(os.path.join(OUT, "copyre_ids"), exist_ok=True)
    canonical, raw, casrel = [], [], []
    words, relations = {"PAD": 0, "UNK": 1}, {"None": 0}
    id_sentences, id_triplets = [], []
    for text, facts in SENTENCES:
        tokens = text.split()
        triplets = []
        for head, relation, tail in facts:
            triplet = {"head": list(span(tokens, head)), "relation": relation, "tail": list(span(tokens, tail))}
            if triplet not in triplets:
                triplets.append(triplet)
        canonical.append({"tokens": tokens, "triplets": triplets})
        raw.append({"sentText": text, "relationMentions": [{"em1Text": written(h), "em2Text": written(t), "label": r} for h, r, t in facts]})
        casrel.append({"text": text, "triple_list": [[written(h), r, written(t)] for h, r, t in facts]})
        id_sentences.append([words.setdefault(t, len(words)) for t in tokens])
        flat = []
        for triplet in triplets:
            flat += [triplet["head"][1] - 1, triplet["tail"][1] - 1, relations.setdefault(triplet["relation"], len(relations))]
        id_triplets.append(flat)
    with open(os.path.join(OUT, "sentences.jsonl"), "w") as handle:
        handle.writelines(json.dumps(s) + "\n" for s in canonical)
    with open(os.path.join(OUT, "copyre_raw.json"), "w") as handle:
        handle.writelines(json.dumps(s, ensure_ascii=False) + "\n" for s in raw)
    with open(os.path.join(OUT, "casrel.json"), "w") as handle:
        json.dump(casrel, handle, indent=2, ensure_ascii=False)
    for name, value in (("train.json", [id_sentences, id_triplets]), ("words2id.json", words), ("relations2id.json", relations)):
        with open(os.path.join(OUT, "copyre_ids", name), "w") as handle:
            json.dump(value, handle)


if __name__ == "__main__":
    main()
