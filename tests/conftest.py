import os
from pathlib import Path

import pytest

import copymtl_allennlp  # noqa: F401  (registers every component)

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
