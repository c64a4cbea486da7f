"""Exact ``--recover``: the random-number state travels with the trainer's checkpoints.

AllenNLP's checkpoints hold the model, the optimizer, the schedulers and the callbacks' states, but
not the random-number generators that draw batch order (Python's ``random``, in the batch
samplers) and dropout (torch). A recovered run re-seeds, replays the finished epochs' batch order
without running them, and so starts the next epoch from another random state than the
uninterrupted run: its losses differ from there on.

:class:`RandomStateCheckpoint` records the state of every generator (Python, NumPy, torch CPU and
CUDA; one per process in distributed training) at the end of each epoch, after validation and the
other callbacks, so it is in the checkpoint that the trainer saves next. On ``--recover`` it puts
that state back just before the first epoch that is trained again, after AllenNLP's replay: the
recovered run then ends where the uninterrupted run ends (on CPU; cuDNN kernels may be
non-deterministic on a GPU). Checkpoints at epoch ends (the default) are exact; a checkpoint in
the middle of an epoch (``save_every_num_batches``) restores the batch order of that epoch but not
its dropout draws.
"""
import random
from typing import Any, Dict, List, Optional, Tuple, cast

import numpy
import torch
import torch.distributed as dist
from allennlp.common.util import is_distributed
from allennlp.training.callbacks import TrainerCallback

from copymtl_allennlp import compat


def capture_random_state() -> Dict[str, Any]:
    """The state of Python's, NumPy's and torch's generators, as plain values and tensors (so that
    torch's ``weights_only`` loading of a checkpoint reads them)."""
    # the legacy tuple form (numpy's default)
    kind, keys, position, has_gauss, cached_gauss = cast(Tuple[str, numpy.ndarray, int, int, float], numpy.random.get_state())
    state: Dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(numpy.int64)), position, has_gauss, cached_gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: Dict[str, Any]) -> None:
    """Puts back a state from :func:`capture_random_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached_gauss = state["numpy"]
    numpy.random.set_state((kind, keys.numpy().astype(numpy.uint32), position, has_gauss, cached_gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class _RestoreBeforeFirstTrainedEpoch:
    """The trainer's data loader, unchanged, except that the iteration that starts the first epoch
    trained again after a recovery first restores the checkpoint's random state."""

    def __init__(self, data_loader: Any, trainer: Any, state: Dict[str, Any]) -> None:
        self._data_loader = data_loader
        self._trainer = trainer
        self._state: Optional[Dict[str, Any]] = state

    def __iter__(self):
        completed, start_after = compat.trainer_epochs(self._trainer)
        if self._state is not None and completed >= start_after:
            restore_random_state(self._state)
            self._state = None
            self._trainer.data_loader = self._data_loader  # nothing more to do: unwrap
        return iter(self._data_loader)

    def __len__(self) -> int:
        return len(self._data_loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._data_loader, name)


@TrainerCallback.register("random_state_checkpoint")
class RandomStateCheckpoint(TrainerCallback):
    """Saves the random-number state in each checkpoint and restores it on ``--recover`` (see the
    module docstring). Put it last in ``trainer.callbacks``, so that it records the state after the
    other callbacks' end-of-epoch work; every config of ``training_config/`` has it."""

    def __init__(self, serialization_dir: str) -> None:
        super().__init__(serialization_dir)
        self._states: Optional[List[Dict[str, Any]]] = None  # one per process
        self._loaded: Optional[List[Dict[str, Any]]] = None

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary: bool = True, **kwargs) -> None:
        state = capture_random_state()
        if is_distributed():
            states: List[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(states, state)
            self._states = states
        else:
            self._states = [state]

    def state_dict(self) -> Dict[str, Any]:
        return {"random_states": self._states}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self._loaded = state_dict.get("random_states")

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        if not self._loaded:
            return
        rank = dist.get_rank() if is_distributed() else 0
        if rank >= len(self._loaded):
            raise ValueError(
                f"the checkpoint holds the random state of {len(self._loaded)} processes; this run has more"
            )
        trainer.data_loader = _RestoreBeforeFirstTrainedEpoch(trainer.data_loader, trainer, self._loaded[rank])
        self._loaded = None
