import logging

import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import AllenNlpTestCase
from allennlp.data import Batch, DatasetReader, Vocabulary

from copymtl_allennlp.data.triplets import Triplet
from copymtl_allennlp.dataset_readers import CopyMTLDatasetReader
from tests.conftest import FIXTURES, write

DATA = FIXTURES / "data"


class TestCopyMTLDatasetReader(AllenNlpTestCase):
    def test_fields_of_a_sentence(self):
        reader = CopyMTLDatasetReader(max_triplets=5)
        instance = list(reader.read(DATA / "sentences.jsonl"))[0]
        tokens = [t.text for t in instance["source_tokens"].tokens]
        assert tokens[:4] == ["Steven", "Jobs", ",", "the"]
        # Steven Jobs | Apple Computer | San Francisco | California
        assert instance["entity_tags"].labels == [
            "B", "I", "O", "O", "O", "O", "B", "I", "O", "O", "O", "O", "B", "I", "O", "B", "O"
        ]
        relations = [f.label for f in instance["target_relations"].field_list]
        assert relations == ["founder_of", "born_in", "located_in", "contains", -1]
        assert instance["target_head_ends"].tensor.tolist() == [1, 1, 13, 15, -1]
        assert instance["target_tail_ends"].tensor.tolist() == [7, 13, 15, 13, -1]
        assert "target_head_lengths" not in instance.fields
        metadata = instance["metadata"].metadata
        assert metadata["source"].endswith("sentences.jsonl:1")
        assert metadata["gold_triplets"][0] == Triplet("founder_of", (0, 2), (6, 8))

    def test_max_triplets_limits_targets_not_gold(self):
        reader = CopyMTLDatasetReader(max_triplets=2)
        instance = list(reader.read(DATA / "sentences.jsonl"))[0]
        assert len(instance["target_relations"].field_list) == 2
        assert instance["target_head_ends"].tensor.tolist() == [1, 1]
        assert len(instance["metadata"]["gold_triplets"]) == 4

    def test_entity_lengths(self):
        reader = CopyMTLDatasetReader(entity_lengths=True, max_triplets=5)
        instance = list(reader.read(DATA / "sentences.jsonl"))[0]
        assert instance["target_head_lengths"].tensor.tolist() == [2, 2, 2, 1, 0]
        assert instance["target_tail_lengths"].tensor.tolist() == [2, 2, 1, 2, 0]

    def test_sentence_without_triplets_is_all_na(self):
        instance = list(CopyMTLDatasetReader(max_triplets=3).read(DATA / "sentences.jsonl"))[-1]
        assert set(instance["entity_tags"].labels) == {"O"}
        assert [f.label for f in instance["target_relations"].field_list] == [-1, -1, -1]
        assert instance["target_tail_ends"].tensor.tolist() == [-1, -1, -1]

    def test_triplet_orders(self):
        def first_relations(order, seed=13):
            reader = CopyMTLDatasetReader(triplet_order=order, seed=seed)
            instance = list(reader.read(DATA / "sentences.jsonl"))[0]
            return [f.label for f in instance["target_relations"].field_list][:4]

        given = first_relations("given")
        # sorted by head span, then tail span
        assert first_relations("sorted") == ["founder_of", "born_in", "located_in", "contains"]
        assert first_relations("sorted") == sorted(given, key=["founder_of", "born_in", "located_in", "contains"].index)
        shuffled = [tuple(first_relations("shuffle", seed)) for seed in range(8)]
        assert all(sorted(s) == sorted(given) for s in shuffled)
        assert len(set(shuffled)) > 1  # the seed matters
        assert first_relations("shuffle", 3) == first_relations("shuffle", 3)  # and is deterministic

    def test_batches_to_tensors(self):
        reader = CopyMTLDatasetReader(max_triplets=5)
        instances = list(reader.read(DATA / "sentences.jsonl"))
        vocab = Vocabulary.from_instances(instances)
        assert vocab.get_token_index("founder_of", "relation_labels") >= 0
        assert "@@PADDING@@" not in vocab.get_token_to_index_vocabulary("relation_labels")
        assert set(vocab.get_token_to_index_vocabulary("entity_tags")) == {"B", "I", "O"}
        batch = Batch(instances)
        batch.index_instances(vocab)
        tensors = batch.as_tensor_dict()
        assert tensors["target_relations"].shape == (8, 5)
        assert tensors["target_relations"][-1].tolist() == [-1] * 5
        assert tensors["entity_tags"].shape == tensors["source_tokens"]["tokens"]["tokens"].shape

    def test_max_sentence_length_skips_and_logs(self):
        reader = CopyMTLDatasetReader(max_sentence_length=10)
        with self._caplog.at_level(logging.WARNING):
            instances = list(reader.read(DATA / "sentences.jsonl"))
        assert len(instances) == 2
        assert "6 sentences longer than 10 tokens skipped" in self._caplog.text

    def test_prediction_instance_has_no_targets(self):
        instance = CopyMTLDatasetReader().text_to_instance(["Paris", "is", "nice"])
        assert set(instance.fields) == {"source_tokens", "metadata"}

    def test_every_format_through_the_registry(self):
        for name in ["sentences.jsonl", "copyre_raw.json", "casrel.json", "copyre_ids/train.json"]:
            reader = DatasetReader.from_params(Params({"type": "copymtl"}))
            assert len(list(reader.read(DATA / name))) == 8

    def test_bad_configuration(self):
        for bad in [{"format": "xml"}, {"triplet_order": "random"}, {"on_error": "ignore"}, {"max_triplets": 0}]:
            with pytest.raises(ConfigurationError):
                CopyMTLDatasetReader(**bad)

    @pytest.fixture(autouse=True)
    def _inject(self, caplog):
        self._caplog = caplog


def test_bad_line_error_and_skip(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"tokens": ["a"], "triplets": []}\n{"tokens": ["b"], "triplets": [{"head": [0, 1], "relation": "r", "tail": [0, 2]}]}\n')
    with pytest.raises(ValueError, match=r"d.jsonl, line 2: triplet 0: tail span \[0, 2\) out of range"):
        list(CopyMTLDatasetReader().read(path))
    assert len(list(CopyMTLDatasetReader(on_error="skip").read(path))) == 1
