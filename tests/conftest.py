import os
from pathlib import Path

import pytest

import copymtl_allennlp.plugin  # noqa: F401  (registers the components)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real corpora not found at {SHARED_DATA} (../shared beside the repository)")
    return SHARED_DATA


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return os.fspath(path)


def build_tiny_bert(folder: Path, corpus: Path = FIXTURES / "data" / "sentences.jsonl", seed: int = 0) -> str:
    """A randomly initialised BERT (2 layers, hidden 16) with an uncased WordPiece tokenizer, saved
    as a Hugging Face folder, as `make transformer` writes MiniLM: built here, nothing downloaded.
    The vocabulary holds every character (alone and as ``##`` continuation) and every other word of
    ``corpus`` whole, so some words are one wordpiece and others several."""
    import json

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = sorted({t.lower() for line in corpus.read_text().splitlines() for t in json.loads(line)["tokens"]})
    characters = sorted({c for word in words for c in word})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + characters + [f"##{c}" for c in characters]
    vocab += [w for w in words[::2] if w not in vocab]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(str(folder))
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(str(folder))
    return os.fspath(folder)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert") / "bert")


def assert_allennlp_predict_matches_the_api(config: Path, tmp_path: Path, monkeypatch) -> None:
    """Trains ``config`` (the fixture corpus) for one epoch, then checks the Python API on raw text
    and `allennlp predict` on the corpus: one output line per input line, each the API's triplets."""
    import json

    from allennlp.commands import main as allennlp_main
    from allennlp.commands.train import train_model_from_file

    from copymtl_allennlp.predictors.copymtl import load_extractor

    data = FIXTURES / "data" / "sentences.jsonl"
    serialization = tmp_path / "run"
    train_model_from_file(str(config), str(serialization), overrides=json.dumps({"trainer.num_epochs": 1}))
    archive = str(serialization / "model.tar.gz")
    extract = load_extractor(archive)
    for triplet in extract("Alan Shepard was born in New Hampshire."):
        assert set(triplet) == {"head", "head_span", "relation", "tail", "tail_span"}
        assert 0 <= triplet["head_span"][0] < triplet["head_span"][1]
    output = tmp_path / "predicted.jsonl"
    monkeypatch.setattr("sys.argv", ["allennlp", "predict", archive, str(data), "--output-file", str(output), "--silent"])
    allennlp_main()
    predicted = [json.loads(line) for line in output.read_text().splitlines()]
    records = [json.loads(line) for line in data.read_text().splitlines()]
    assert [p["tokens"] for p in predicted] == [r["tokens"] for r in records]
    for record, result in zip(records, predicted):
        assert result["triplets"] == extract(tokens=record["tokens"])


def fit_and_decode(model, instances, vocab, steps: int, lr: float = 0.01):
    """Trains ``model`` on ``instances`` (one batch) for ``steps`` Adam steps, then decodes them in
    evaluation mode with fresh metrics; returns the output (the metrics stay on the model)."""
    import torch
    from allennlp.data import Batch

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batch = Batch(instances)
    batch.index_instances(vocab)
    tensors = batch.as_tensor_dict()
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(**tensors)["loss"].backward()
        optimizer.step()
    model.eval()
    model.get_metrics(reset=True)
    with torch.no_grad():
        return model(**tensors)


def tiny_model_in_evaluation(config: Path, reader, **model_params):
    """The model of a tiny ``config`` (``model_params`` changed) in evaluation mode, built on the
    fixture corpus as ``reader`` reads it; returns the model, the instances and their tensors."""
    from allennlp.common import Params
    from allennlp.data import Batch, Vocabulary
    from allennlp.models import Model

    data = list(reader.read(str(FIXTURES / "data" / "sentences.jsonl")))
    vocab = Vocabulary.from_instances(data)
    params = Params.from_file(str(config)).pop("model")
    params.update(model_params)
    batch = Batch(data)
    batch.index_instances(vocab)
    return Model.from_params(vocab=vocab, params=params).eval(), data, batch.as_tensor_dict()
