import sys

import pytest
from allennlp.common import Params
from allennlp.data import Vocabulary
from allennlp.models import Model

from copymtl_allennlp.dataset_readers.copymtl import CopyMTLDatasetReader
from copymtl_allennlp.dataset_readers.table_filling import TableFillingDatasetReader
from tests.conftest import FIXTURES, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import speed  # noqa: E402


@pytest.mark.parametrize(
    "config, reader",
    [
        ("copymtl_set_tiny.jsonnet", CopyMTLDatasetReader(entity_lengths=True, max_triplets=6)),
        ("tplinker_tiny.jsonnet", TableFillingDatasetReader()),
        ("onerel_tiny.jsonnet", TableFillingDatasetReader(tag_scheme="horns")),
    ],
)
def test_counted_flops_of_the_set_decoder_and_the_table_filling_models(config, reader):
    # the set decoder's slot queries are a view of a parameter: torch's FlopCounterMode failed on them
    instances = list(reader.read(str(FIXTURES / "data" / "sentences.jsonl")))
    vocab = Vocabulary.from_instances(instances)
    model = Model.from_params(vocab=vocab, params=Params.from_file(str(FIXTURES / "configs" / config)).pop("model"))
    model.train()
    before = [p.requires_grad for p in model.parameters()]
    flops = speed.counted_flops(model, instances, batch_size=4)
    assert flops["total"] > 0
    assert model.training and [p.requires_grad for p in model.parameters()] == before  # restored
