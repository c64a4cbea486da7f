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
