"""NovelTagging's tagging scheme and the nearest principle, on hand-worked sentences."""
from copymtl_allennlp.data.novel_tags import novel_tags, split_tag, tagged_entities, triplets_from_tags
from copymtl_allennlp.data.triplets import Triplet


def test_tags_of_the_papers_example():
    # "The United States President Trump will visit the Apple founded by Steven Paul Jobs"
    tokens = "The United States President Trump will visit the Apple founded by Steven Paul Jobs".split()
    triplets = [Triplet("Country-President", (1, 3), (4, 5)), Triplet("Company-Founder", (8, 9), (11, 14))]
    tags, left_out = novel_tags(len(tokens), triplets)
    assert left_out == []
    assert tags == [
        "O", "B-Country-President-1", "E-Country-President-1", "O", "S-Country-President-2", "O", "O", "O",
        "S-Company-Founder-1", "O", "O", "B-Company-Founder-2", "I-Company-Founder-2", "E-Company-Founder-2",
    ]
    assert triplets_from_tags(tags) == sorted(triplets, key=lambda t: (t.head, t.tail))


def test_what_the_scheme_cannot_express_is_left_out_in_order():
    shared_head = Triplet("r", (0, 1), (2, 3))
    same_head_same_role = Triplet("r", (0, 1), (4, 5))  # same entity, relation and role: expressible
    other_relation = Triplet("s", (0, 1), (6, 7))  # token 0 is already r's head
    other_role = Triplet("r", (2, 3), (8, 9))  # token 2 is r's tail, cannot be r's head too
    overlapping = Triplet("t", (7, 9), (8, 10))
    head_is_tail = Triplet("u", (9, 10), (9, 10))
    tags, left_out = novel_tags(11, [shared_head, same_head_same_role, other_relation, other_role, overlapping, head_is_tail])
    assert left_out == [other_relation, other_role, overlapping, head_is_tail]
    assert tags == ["S-r-1", "O", "S-r-2", "O", "S-r-2", "O", "O", "O", "O", "O", "O"]
    # a left-out triplet changes no tag: an entity partly placed is not left behind
    assert tags.count("O") == 8


def test_relations_with_hyphens_and_broken_sequences():
    assert split_tag("B-Country-President-2") == ("B", "Country-President", "2")
    tags = ["I-r-1", "E-r-1", "B-r-1", "I-r-1", "E-r-1", "B-r-2", "E-s-2", "B-r-2", "O", "E-r-2", "S-r-2"]
    # I/E without B, a relation change inside, a B closed by O: dropped; B I E and S kept
    assert tagged_entities(tags) == [((2, 5), "r", "1"), ((10, 11), "r", "2")]


def test_nearest_principle():
    # heads at 0 and 9, tails at 3 and 5 (one relation): 0 -> 3 (2 tokens between, against 4),
    # 9 -> 5 (3 between, against 5); every tail chosen, so two triplets
    tags = ["S-r-1", "O", "O", "S-r-2", "O", "S-r-2", "O", "O", "O", "S-r-1"]
    assert triplets_from_tags(tags) == [Triplet("r", (0, 1), (3, 4)), Triplet("r", (9, 10), (5, 6))]
    # one head, two tails: the head takes the nearer, the other tail joins its nearest head
    tags = ["S-r-2", "O", "S-r-1", "S-r-2"]
    assert triplets_from_tags(tags) == [Triplet("r", (2, 3), (0, 1)), Triplet("r", (2, 3), (3, 4))]
    # a tie (1 token each side) goes to the left entity
    tags = ["S-r-2", "O", "S-r-1", "O", "S-r-2"]
    assert triplets_from_tags(tags) == [Triplet("r", (2, 3), (0, 1)), Triplet("r", (2, 3), (4, 5))]
    # relations pair only within themselves; a relation with no partner gives nothing
    tags = ["S-r-1", "S-s-2", "S-r-2", "S-t-1"]
    assert triplets_from_tags(tags) == [Triplet("r", (0, 1), (2, 3))]
    # multi-token entities: distance is the gap between spans
    tags = ["B-r-1", "E-r-1", "O", "B-r-2", "I-r-2", "E-r-2", "S-r-2"]
    assert triplets_from_tags(tags) == [Triplet("r", (0, 2), (3, 6)), Triplet("r", (0, 2), (6, 7))]
