"""CopyMTL and the CopyRE family of joint entity-relation extraction models for AllenNLP.

``import copymtl_allennlp`` is light: it imports neither torch nor AllenNLP, so that
``copymtl-convert`` starts at once. The components register with AllenNLP when
:mod:`copymtl_allennlp.plugin` is imported: by ``--include-package copymtl_allennlp``, by the
``.allennlp_plugins`` file at the repository root, by :func:`load_extractor` (the Python API), or
by ``import copymtl_allennlp.plugin`` in a program of your own.
"""
from typing import Any, Optional

from copymtl_allennlp.version import VERSION as __version__  # noqa: F401


def load_extractor(archive_path: str, cuda_device: int = -1, vectors: Optional[str] = None) -> Any:
    """The Python API: ``extract = load_extractor("model.tar.gz")``, then ``extract("text")``.
    See :func:`copymtl_allennlp.predictors.copymtl.load_extractor`."""
    import copymtl_allennlp.plugin  # noqa: F401  (registers the components)
    from copymtl_allennlp.predictors.copymtl import load_extractor as load

    return load(archive_path, cuda_device, vectors)
