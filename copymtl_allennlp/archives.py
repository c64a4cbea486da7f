"""A model archive opened without AllenNLP (no torch, no AllenNLP import): what it holds, and one
line naming the damage when it cannot be read. The Python API checks an archive with it before
AllenNLP's loader (``load_extractor``), and ``copymtl-model-card`` reads the card with it."""
import contextlib
import os
import tarfile
import zlib
from typing import Iterator, Set, Tuple


class ArchiveError(ValueError):
    """``<path>: <what is wrong with the archive>``."""


@contextlib.contextmanager
def opened_archive(path: str) -> Iterator[Tuple[tarfile.TarFile, Set[str]]]:
    """The open ``model.tar.gz`` and the names at its top level. The whole archive is read first,
    so that a truncated one fails here, named."""
    if not os.path.exists(path):
        raise ArchiveError(f"{path}: no such model archive (give the model.tar.gz that training wrote)")
    if os.path.isdir(path):
        raise ArchiveError(f"{path}: a directory, not a model archive")
    damaged = f"{path}: not a complete model archive (the file is truncated or corrupt: {{}}); copy it again"
    try:
        with tarfile.open(path, "r:gz") as archive:
            names = {name.split("/")[0] for name in archive.getnames()}
            yield archive, names
    except tarfile.ReadError as error:
        if "not a gzip file" in str(error) or "empty file" in str(error):
            raise ArchiveError(f"{path}: not a complete model archive (not a gzipped tar file: {error})") from None
        raise ArchiveError(damaged.format(error)) from None
    except (EOFError, zlib.error, tarfile.TarError) as error:
        raise ArchiveError(damaged.format(error)) from None
