import json

import pytest
import torch
from allennlp.common.testing import ModelTestCase
from allennlp.data import Vocabulary

from copymtl_allennlp.data.triplets import Triplet, bio_tags, spans_from_tags
from copymtl_allennlp.dataset_readers.graphrel import GraphRelDatasetReader
from copymtl_allennlp.models.graphrel import GraphRel
from copymtl_allennlp.modules.graph_convolution import BiGcn, RelationWeightedGcn, dependency_adjacency
from tests.conftest import FIXTURES

CONFIG = FIXTURES / "configs" / "graphrel_tiny.jsonnet"
DATA = FIXTURES / "data" / "sentences.jsonl"


class TestGraphRel(ModelTestCase):
    @pytest.mark.parametrize("phases", [1, 2])
    def test_train_save_load_every_gradient_and_batch_consistency(self, phases):
        overrides = json.dumps({"model.phases": phases})
        self.set_up_model(CONFIG, DATA)
        self.ensure_model_can_train_save_and_load(self.param_file, overrides=overrides)
        self.ensure_batch_predictions_are_consistent()


def test_dependency_adjacency():
    # token 0 -> 1, 1 root, 2 -> 1; second sentence: 0 root, 1 -> 0, then padding
    heads = torch.tensor([[1, -1, 1], [-1, 0, -1]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    assert dependency_adjacency(heads, mask).tolist() == [
        [[0, 1, 0], [0, 0, 0], [0, 1, 0]],
        [[0, 0, 0], [1, 0, 0], [0, 0, 0]],
    ]


def test_bi_gcn_by_hand():
    torch.manual_seed(0)
    gcn = BiGcn(input_size=3, hidden_size=2, num_layers=1)
    x = torch.randn(1, 3, 3)
    heads = torch.tensor([[1, -1, 1]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    out = gcn(x, dependency_adjacency(heads, mask), mask)
    w_out, w_in = gcn.outgoing[0], gcn.incoming[0]
    # out-neighbours (with self): 0 -> {0, 1}, 1 -> {1}, 2 -> {2, 1}; in-neighbours: 0 <- {0}, 1 <- {1, 0, 2}, 2 <- {2}
    outgoing = {0: [0, 1], 1: [1], 2: [2, 1]}
    incoming = {0: [0], 1: [1, 0, 2], 2: [2]}
    for u in range(3):
        expected_out = torch.relu(sum(w_out(x[0, v]) for v in outgoing[u]))
        expected_in = torch.relu(sum(w_in(x[0, v]) for v in incoming[u]))
        assert torch.allclose(out[0, u], torch.cat([expected_out, expected_in]), atol=1e-6)


def test_relation_weighted_gcn_by_hand():
    torch.manual_seed(0)
    layer = RelationWeightedGcn(size=3, num_relations=2)
    torch.nn.init.normal_(layer.bias)
    h = torch.randn(1, 3, 3)
    p = torch.rand(1, 3, 3, 2)
    mask = torch.tensor([[True, True, False]])
    out = layer(h, p, mask)
    for u in range(2):
        message = sum(p[0, u, v, r] * (layer.weight[r] @ h[0, v] + layer.bias[r]) for v in range(2) for r in range(2))
        assert torch.allclose(out[0, u], torch.relu(message) + h[0, u], atol=1e-5)
    assert out[0, 2].abs().sum() == 0  # padding


def test_pair_targets():
    # triplets: r0 (head 0-2, tail 3), r1 (head 1, tail 3: pair (1, 3) is already r0's), unseen, NA
    relations = torch.tensor([[0, 1, -2, -1]])
    spans = torch.tensor([[[0, 2, 3, 4], [1, 2, 3, 4], [2, 3, 0, 1], [0, 0, 0, 0]]])
    targets = GraphRel.pair_targets(relations, spans, 4)
    expected = torch.zeros(1, 4, 4, dtype=torch.long)
    expected[0, 0, 3] = expected[0, 1, 3] = 1  # r0 + 1; the first triplet wins (1, 3)
    assert targets.tolist() == expected.tolist()


def _model(relation_inference="average", threshold=0.5):
    vocab = Vocabulary(
        {"tokens": {"a": 1}, "relation_labels": {"r": 1, "s": 1}, "bioes_tags": {"O": 1, "B": 1, "I": 1, "E": 1, "S": 1}},
        non_padded_namespaces=["*labels", "*tags"],
    )
    from allennlp.modules.seq2seq_encoders import LstmSeq2SeqEncoder
    from allennlp.modules.text_field_embedders import BasicTextFieldEmbedder
    from allennlp.modules.token_embedders import Embedding

    embedder = BasicTextFieldEmbedder({"tokens": Embedding(embedding_dim=2, num_embeddings=vocab.get_vocab_size())})
    encoder = LstmSeq2SeqEncoder(2, 2, bidirectional=True)
    return GraphRel(vocab, embedder, encoder, gcn_size=2, relation_size=2, relation_inference=relation_inference, threshold=threshold), vocab


def test_triplets_from_tags_and_pair_probabilities():
    model, vocab = _model()
    tag = {t: vocab.get_token_index(t, "bioes_tags") for t in ("O", "B", "I", "E", "S")}
    r, s = (vocab.get_token_index(x, "relation_labels") + 1 for x in ("r", "s"))
    # entities: tokens 0-1 (B E) and 3 (S); token 2 O
    tags = torch.tensor([[tag["B"], tag["E"], tag["O"], tag["S"]]])
    p = torch.zeros(1, 4, 4, 3)
    p[..., 0] = 1.0  # NA everywhere, but:
    # (0, 3): r with 0.9; (1, 3): s with 0.6, r with 0.4 -> mean r 0.65, s 0.3, NA 0.05: the pair is r
    p[0, 0, 3] = torch.tensor([0.1, 0.0, 0.0]); p[0, 0, 3, r] = 0.9
    p[0, 1, 3] = torch.tensor([0.0, 0.0, 0.0]); p[0, 1, 3, s] = 0.6; p[0, 1, 3, r] = 0.4
    assert model._triplets(tags, p, [["w"] * 4]) == [[Triplet("r", (0, 2), (3, 4))]]
    # threshold: the share of word pairs whose most probable class is the relation
    model.relation_inference, model.threshold = "threshold", 0.5
    assert model._triplets(tags, p, [["w"] * 4]) == [[Triplet("r", (0, 2), (3, 4)), Triplet("s", (0, 2), (3, 4))]]
    model.threshold = 0.6
    assert model._triplets(tags, p, [["w"] * 4]) == [[]]


def test_bioes_tags_round_trip():
    tags, conflicts = bio_tags(6, [(0, 2), (3, 4), (1, 3)], encoding="BIOES")
    assert (tags, conflicts) == (["B", "E", "O", "S", "O", "O"], 1)
    assert spans_from_tags(tags) == [(0, 2), (3, 4)]
    assert spans_from_tags(["I", "E", "B", "I", "E", "B", "O", "S"]) == [(2, 5), (7, 8)]


def test_reader_parses_our_tokens_once():
    reader = GraphRelDatasetReader()
    calls = []
    parse_many = reader.parser.parse_many
    reader.parser.parse_many = lambda sentences: (calls.append(len(sentences)), parse_many(sentences))[1]
    first = list(reader.read(str(DATA)))
    again = list(reader.read(str(DATA)))
    assert calls == [8, 8]  # one batch per read; the second parses nothing new
    assert len(reader.parser._parsed) == 8
    for instance in first:
        tokens = [t.text for t in instance["source_tokens"].tokens]
        assert tokens == instance["metadata"]["tokens"]  # spaCy kept our tokens
        heads = instance["dependency_heads"].tensor.tolist()
        assert len(heads) == len(tokens) and -1 in heads and all(-1 <= h < len(tokens) for h in heads)
        assert all(t.tag_ for t in instance["source_tokens"].tokens)
    assert [i["dependency_heads"].tensor.tolist() for i in again] == [i["dependency_heads"].tensor.tolist() for i in first]


def test_the_baselines_fit_the_fixture_corpus(tmp_path):
    """Trained long enough on the 8 fixture sentences, each baseline extracts them: GraphRel
    nearly all; NovelTagging exactly the 9 of 17 triplets its tags can express (precision 1)."""
    from allennlp.commands.train import train_model_from_file

    overrides = {"trainer.num_epochs": 150, "data_loader.batch_size": 8, "trainer.optimizer.lr": 0.02}
    train_model_from_file(str(CONFIG), str(tmp_path / "graphrel"), overrides=json.dumps(overrides))
    assert json.loads((tmp_path / "graphrel" / "metrics.json").read_text())["best_validation_f1"] > 0.9
    train_model_from_file(str(FIXTURES / "configs" / "novel_tagging_tiny.jsonnet"), str(tmp_path / "nt"), overrides=json.dumps(overrides))
    recall = 9 / 17
    assert json.loads((tmp_path / "nt" / "metrics.json").read_text())["best_validation_f1"] == pytest.approx(2 * recall / (1 + recall))
