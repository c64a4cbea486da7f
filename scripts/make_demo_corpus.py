#!/usr/bin/env python
"""Writes the demo corpus (fixtures/demo/{train,dev,test}.jsonl) in the canonical JSONL format.

Synthetic news-style sentences with multi-token entities (people, cities, countries, companies,
universities) and overlapping triplets: one entity in several triplets (``Alan Bean`` born in X
and working for Y) and one pair with two relations (``contains`` / ``located_in``). Names are
drawn from syllables, so most entities are rare and a model must read the context, as in real
corpora. Deterministic: the same seed writes the same files.

    python scripts/make_demo_corpus.py --seed 1 --out fixtures/demo
"""
import argparse
import json
import os
import random
from typing import Dict, List, Tuple

SYLLABLES = "ka lo mi ra ten vo su bel dor an is et ur gan pel tor min sha rio val".split()
FIRST_NAMES = "Alan Maria John Sofia Peter Lena Omar Chen Ivan Nora Paul Aiko Ruth Diego Emma Karl".split()
CITY_PREFIXES = ["San", "New", "Port", "Saint", "Lake", "North", "Fort"]
COUNTRY_SUFFIXES = ["Republic", "Islands", "Kingdom", "Federation"]
COMPANY_SUFFIXES = ["Computer", "Motors", "Systems", "Airlines", "Foods", "Energy", "Group"]
FILLERS = [
    "last year", "according to officials", "in a statement on Monday", "early in his career",
    "as reported by the local press", "after a long negotiation", "in 1998", "this spring",
]


def name(rng: random.Random, low: int = 2, high: int = 3) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(low, high))).capitalize()


class World:
    """A random set of entities with consistent facts, so sentences never contradict each other."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.countries = [self._country(rng) for _ in range(size // 8)]
        self.cities = [(self._city(rng), rng.choice(self.countries)) for _ in range(size // 2)]
        self.companies = [(f"{name(rng)} {rng.choice(COMPANY_SUFFIXES)}", rng.choice(self.cities)[0]) for _ in range(size // 2)]
        self.universities = [(f"University of {rng.choice(self.cities)[0]}") for _ in range(size // 6)]
        self.people = [
            (f"{rng.choice(FIRST_NAMES)} {name(rng)}", rng.choice(self.cities)[0], rng.choice(self.companies)[0])
            for _ in range(size)
        ]

    @staticmethod
    def _country(rng: random.Random) -> str:
        return f"{name(rng)} {rng.choice(COUNTRY_SUFFIXES)}" if rng.random() < 0.4 else name(rng)

    @staticmethod
    def _city(rng: random.Random) -> str:
        return f"{rng.choice(CITY_PREFIXES)} {name(rng)}" if rng.random() < 0.6 else name(rng)


Fact = Tuple[str, str, str]  # (head text, relation, tail text)


def sentence(world: World, rng: random.Random) -> Tuple[str, List[Fact]]:
    """One sentence with its facts. Each template is a realistic shape of overlap."""
    person, birthplace, company = rng.choice(world.people)
    country = dict(world.cities)[birthplace]
    company_city = dict(world.companies)[company]
    filler = rng.choice(FILLERS)
    kind = rng.randrange(10)
    if kind == 0:  # one head, two tails
        return (
            f"{person} , who was born in {birthplace} , joined {company} {filler} .",
            [(person, "born_in", birthplace), (person, "works_for", company)],
        )
    if kind == 1:  # entity pair overlap: one pair, two relations
        return (
            f"{filler.capitalize()} , {birthplace} , a city in {country} , opened a new airport .",
            [(birthplace, "located_in", country), (country, "contains", birthplace)],
        )
    if kind == 2:  # chain: company -> city -> country
        return (
            f"{company} is headquartered in {company_city} , {dict(world.cities)[company_city]} .",
            [
                (company, "headquartered_in", company_city),
                (company_city, "located_in", dict(world.cities)[company_city]),
                (dict(world.cities)[company_city], "contains", company_city),
            ],
        )
    if kind == 3:  # founder, with the company's city
        return (
            f"{person} founded {company} in {company_city} {filler} .",
            [(person, "founded", company), (company, "headquartered_in", company_city)],
        )
    if kind == 4:  # nationality and studies
        university = rng.choice(world.universities)
        return (
            f"The {country} native {person} studied at the {university} before moving abroad .",
            [(person, "nationality", country), (person, "studied_at", university)],
        )
    if kind == 5:  # capital: pair overlap in the other direction
        return (
            f"{birthplace} , the capital of {country} , hosted the summit {filler} .",
            [(birthplace, "capital_of", country), (country, "contains", birthplace)],
        )
    if kind == 7:  # a distractor person: only the second one was born there
        other = rng.choice(world.people)[0]
        return (
            f"{other} met {person} in {birthplace} , where {person} was born , {filler} .",
            [(person, "born_in", birthplace)],
        )
    if kind == 8:  # a distractor city; the tail comes before the head
        old_city = rng.choice(world.cities)[0]
        return (
            f"{company} , founded by {person} , moved from {old_city} to {company_city} {filler} .",
            [(person, "founded", company), (company, "headquartered_in", company_city)],
        )
    if kind == 9:  # relation expressed with the tail first
        return (
            f"{birthplace} is the birthplace of {person} , who now works for {company} .",
            [(person, "born_in", birthplace), (person, "works_for", company)],
        )
    # kind 6: a single triplet in a longer sentence
    return (
        f"Speaking to reporters {filler} , {person} said that the workers of {company} would not strike .",
        [(person, "works_for", company)],
    )


def locate(tokens: List[str], text: str) -> Tuple[int, int]:
    """The first occurrence of ``text``'s tokens (templates put the intended one first; in the
    rare sentence where a distractor has the same name, the first occurrence is taken)."""
    parts = text.split()
    for start in range(len(tokens) - len(parts) + 1):
        if tokens[start : start + len(parts)] == parts:
            return start, start + len(parts)
    raise AssertionError(f"{text!r} not in {tokens}")


def example(world: World, rng: random.Random) -> Dict:
    text, facts = sentence(world, rng)
    tokens = text.split()
    triplets = []
    for head, relation, tail in facts:
        triplet = {"head": list(locate(tokens, head)), "relation": relation, "tail": list(locate(tokens, tail))}
        if triplet not in triplets:
            triplets.append(triplet)
    return {"tokens": tokens, "triplets": triplets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="fixtures/demo")
    parser.add_argument("--sizes", default="train=3000,dev=300,test=300")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    world = World(rng, size=1200)
    os.makedirs(args.out, exist_ok=True)
    for split_size in args.sizes.split(","):
        split, size = split_size.split("=")
        with open(os.path.join(args.out, f"{split}.jsonl"), "w", encoding="utf-8") as handle:
            for _ in range(int(size)):
                handle.write(json.dumps(example(world, rng)) + "\n")


if __name__ == "__main__":
    main()
