"""Two independent computations at the same time on a CPU, each in its own thread on half of
torch's intra-op threads, with autograd through both.

A paper-size step is a long chain of operations that two threads do not share well: gate
arithmetic, products of 100 rows, Python between the operations. Two computations that do not
depend on each other (the two directions of the encoder; the decoder on two halves of a batch)
keep both cores busier side by side than one after the other on both cores
(``benchmarks/ab_switch.py`` with the switches that use this module).

:func:`run_in_two_threads` runs two jobs in :func:`worker_threads` and returns their outputs as
outputs of one autograd node: its backward runs the two jobs' backward passes at the same time
too, and adds the gradients both jobs give to the same input. A job is a function of the inputs
to a tuple of tensors: inputs that are leaves of the caller's graph (parameters) come as they
are, the others detached (each job's graph ends there). The backward computes each job's
gradients with ``torch.autograd.grad``, which leaves parameters' ``.grad`` alone: they are
returned as this node's gradients and accumulated once, by the caller's backward. Jobs must not
draw random numbers (the two threads share torch's generator, so the order of the draws would
change from run to run).
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch.autograd.function import once_differentiable

Job = Callable[[Sequence[torch.Tensor]], Sequence[torch.Tensor]]

_pool: Optional[ThreadPoolExecutor] = None


def worker_threads() -> ThreadPoolExecutor:
    """Two worker threads, each running torch's operations on half of the caller's intra-op
    threads (set once per worker; the caller's own setting is not changed)."""
    global _pool
    if _pool is None:
        threads = torch.get_num_threads()
        _pool = ThreadPoolExecutor(2, thread_name_prefix="copymtl-worker", initializer=torch.set_num_threads, initargs=(max(1, threads // 2),))
        both_started = threading.Barrier(2)
        list(_pool.map(lambda _: both_started.wait(), range(2)))
        # set_num_threads also sets the count that threads started later begin with: the caller's again
        torch.set_num_threads(threads)
    return _pool


def _forget_pool() -> None:  # a forked child has none of its parent's threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def can_run_in_two_threads(*tensors: torch.Tensor) -> bool:
    """True on a CPU with two intra-op threads or more."""
    return all(t.device.type == "cpu" for t in tensors) and torch.get_num_threads() >= 2


class _TwoJobs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, jobs, output_counts, *inputs):  # type: ignore[override]
        def run(job: Job):
            with torch.enable_grad():  # autograd state is per thread
                # leaves (parameters) as they are, so that a job may use a module's own parameters;
                # other inputs detached: each job's graph ends at them
                leaves = [t if t.is_leaf else t.detach().requires_grad_(t.requires_grad) for t in inputs]
                return leaves, tuple(job(leaves))

        ctx.graphs = list(worker_threads().map(run, jobs))
        output_counts.extend(len(outputs) for _, outputs in ctx.graphs)
        flat = [t.detach() for _, outputs in ctx.graphs for t in outputs]
        ctx.mark_non_differentiable(*(t for t in flat if not t.is_floating_point()))
        return tuple(flat)

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):  # type: ignore[override]
        starts = [0, len(ctx.graphs[0][1])]

        def run(job_index: int) -> List[Optional[torch.Tensor]]:
            leaves, outputs = ctx.graphs[job_index]
            job_grads = grads[starts[job_index] : starts[job_index] + len(outputs)]
            pairs = [(o, g) for o, g in zip(outputs, job_grads) if o.requires_grad and g is not None]
            wanted = [leaf for leaf in leaves if leaf.requires_grad]
            if not pairs or not wanted:
                return [None] * len(leaves)
            found = iter(torch.autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs], allow_unused=True))
            return [next(found) if leaf.requires_grad else None for leaf in leaves]

        first, second = worker_threads().map(run, (0, 1))
        ctx.graphs = None
        summed = [a if b is None else b if a is None else a + b for a, b in zip(first, second)]
        return (None, None, *summed)


def run_in_two_threads(jobs: Tuple[Job, Job], inputs: Sequence[torch.Tensor]) -> Tuple[Tuple[torch.Tensor, ...], Tuple[torch.Tensor, ...]]:
    """``(jobs[0](inputs), jobs[1](inputs))``, computed at the same time in two threads (forward
    and, with autograd, backward). Integer outputs are not differentiable. Without autograd the
    jobs run under ``torch.no_grad``."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        counts: List[int] = []
        flat = _TwoJobs.apply(jobs, counts, *inputs)
        return tuple(flat[: counts[0]]), tuple(flat[counts[0] :])

    def run(job: Job) -> Tuple[torch.Tensor, ...]:
        with torch.no_grad():  # autograd state is per thread
            return tuple(job(inputs))

    first, second = worker_threads().map(run, jobs)
    return first, second
