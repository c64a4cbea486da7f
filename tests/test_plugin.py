"""The package as AllenNLP sees it: registered components and the CLI."""
import os
import subprocess
import sys

from allennlp.data import DatasetReader
from allennlp.training.metrics import Metric

from tests.conftest import ROOT

ALLENNLP = os.path.join(os.path.dirname(sys.executable), "allennlp")


def test_importing_the_plugin_registers_components():
    import copymtl_allennlp.plugin  # noqa: F401  (registers the components)

    assert DatasetReader.by_name("copymtl").__name__ == "CopyMTLDatasetReader"
    assert Metric.by_name("triplet_f1").__name__ == "TripletF1"


def test_the_package_and_the_converter_import_neither_torch_nor_allennlp():
    code = (
        "import sys, copymtl_allennlp, copymtl_allennlp.commands.convert; "
        "print(sorted(m for m in ('torch', 'allennlp', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_plugins_file_names_the_package():
    assert (ROOT / ".allennlp_plugins").read_text().split() == ["copymtl_allennlp.plugin"]


def test_cli_finds_the_plugin_without_flags_and_prints_no_noise():
    # Run from the repository root, where .allennlp_plugins is read.
    code = "from allennlp.common.plugins import import_plugins; import_plugins(); from allennlp.data import DatasetReader; print(DatasetReader.by_name('copymtl').__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "CopyMTLDatasetReader"
    result = subprocess.run([ALLENNLP, "train", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0
    assert "usage: allennlp train" in result.stdout
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr
