from allennlp.training.callbacks import TrainerCallback

from copymtl_allennlp.allocator import keep_freed_memory


@TrainerCallback.register("keep_freed_memory")
class KeepFreedMemory(TrainerCallback):
    """Applies :func:`copymtl_allennlp.allocator.keep_freed_memory` (glibc keeps freed memory for
    reuse: faster training, the process keeps its peak heap) when training starts. Every config of
    ``training_config/`` turns it on; it changes the training process only."""

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        keep_freed_memory()
