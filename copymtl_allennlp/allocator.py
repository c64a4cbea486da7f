"""Keeps freed memory in the process instead of returning it to the operating system (glibc).

Training and decoding allocate and free many large temporaries per batch (attention over
(batch, length, H) at every decoder step, gate buffers of the encoder). glibc's malloc serves
large blocks with ``mmap`` and gives them back on free, so every batch touches fresh pages and
pays a page fault per 4 KiB page. :func:`keep_freed_memory` raises glibc's mmap threshold to its
maximum (32 MiB) and stops heap trimming, so freed blocks are reused. The cost: the process keeps
its peak heap (resident memory does not shrink after a peak). Its effect on training speed, with
the command that measures it: docs/performance.md.

It changes the whole process, so it is opt-in: the ``keep_freed_memory`` trainer callback (every
config of ``training_config/`` turns it on for training), or ``COPYMTL_KEEP_FREED_MEMORY=1`` in the
environment for any command (``allennlp evaluate`` / ``predict``): then importing
:mod:`copymtl_allennlp.plugin` applies it. Importing the package alone never does. The
``MALLOC_*`` environment variables set by the user keep their precedence: glibc reads them at
start-up and this function does nothing when one of them is set. On platforms without glibc's
``mallopt`` it does nothing.
"""
import ctypes
import logging
import os

logger = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's maximum on 64-bit systems


def keep_freed_memory() -> bool:
    """Sets glibc's mmap threshold to 32 MiB and disables trimming. True if both were applied."""
    if any(name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
    logger.debug("glibc mallopt: mmap threshold 32 MiB, no trimming: %s", applied)
    return applied


def keep_freed_memory_if_asked() -> bool:
    """:func:`keep_freed_memory` when the environment says ``COPYMTL_KEEP_FREED_MEMORY=1``."""
    return os.environ.get("COPYMTL_KEEP_FREED_MEMORY") == "1" and keep_freed_memory()
