"""Registers every component of the package with AllenNLP: the module that ``.allennlp_plugins``
names, and what ``--include-package copymtl_allennlp`` imports with the rest of the package.

In a program of your own, ``import copymtl_allennlp.plugin`` before AllenNLP's loaders
(``load_archive``, ``Predictor.from_path``); :func:`copymtl_allennlp.load_extractor` imports it
itself. ``import copymtl_allennlp`` alone imports neither torch nor AllenNLP.
"""
from copymtl_allennlp.allocator import keep_freed_memory_if_asked

keep_freed_memory_if_asked()  # only with COPYMTL_KEEP_FREED_MEMORY=1 (allocator.py)

import copymtl_allennlp.data.tokenizers  # noqa: F401,E402  (registers "spacy_rules")
import copymtl_allennlp.dataset_readers  # noqa: F401,E402
import copymtl_allennlp.metrics  # noqa: F401,E402
import copymtl_allennlp.modules  # noqa: F401,E402
import copymtl_allennlp.models  # noqa: F401,E402
import copymtl_allennlp.predictors  # noqa: F401,E402
import copymtl_allennlp.training  # noqa: F401,E402  (the callbacks)
