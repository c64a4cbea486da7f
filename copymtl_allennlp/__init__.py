"""CopyMTL and the CopyRE family of joint entity-relation extraction models for AllenNLP.

Importing this package registers every component (``--include-package copymtl_allennlp`` or the
``.allennlp_plugins`` file at the repository root).
"""
from copymtl_allennlp.version import VERSION as __version__
from copymtl_allennlp.allocator import keep_freed_memory

keep_freed_memory()  # reuse freed memory (glibc); COPYMTL_KEEP_FREED_MEMORY=0 turns it off


import copymtl_allennlp.data.tokenizers  # noqa: F401  (registers "spacy_rules")
import copymtl_allennlp.dataset_readers  # noqa: F401
import copymtl_allennlp.metrics  # noqa: F401
import copymtl_allennlp.modules  # noqa: F401
import copymtl_allennlp.models  # noqa: F401
import copymtl_allennlp.predictors  # noqa: F401
import copymtl_allennlp.training  # noqa: F401  (the training_set_f1 callback)

from copymtl_allennlp.predictors import load_extractor  # noqa: E402  (the Python API)
