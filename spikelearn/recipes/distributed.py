"""Data-parallel training with ``torch.distributed``, set up from what ``torchrun`` provides.

``torchrun --nproc-per-node N`` starts N copies of the program and gives each ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address in its environment; without torchrun
the program is one process (rank 0 of 1). Each process holds a replica of the network, sees
``1/N`` of every global batch (:func:`sampler`: ``torch.utils.data.DistributedSampler``, whose
order depends only on the seed and the epoch), and ``DistributedDataParallel`` averages the
gradients in the backward pass (NCCL on GPUs, gloo on CPUs). With equal shares and a loss that is
a mean over samples this is exactly the update one process would make on the whole global batch,
up to the order of float summation (METHODS §11)::

    (1/N) Σ_r ∇ L_r  =  ∇ (1/B) Σ_i ℓ_i        when every L_r is the mean over B/N samples

*Unless the network has batch statistics.* Batch norm (``norm.BatchNormThroughTime``, tdBN, and
the ReLU twin's ``nn.BatchNorm2d``) normalises with the mean and variance of the batch it sees; on
N processes that is each one's share, so the forward pass, the gradient and the running
statistics differ from one process's. :func:`synchronise_batch_norm` swaps each for a version
whose training statistics are all-reduced over the processes before normalising (the idea of
``torch.nn.SyncBatchNorm``; that one needs a GPU, this one runs on gloo too)::

    mean = Σ_r Σ x / Σ_r n,    var = Σ_r Σ (x - mean)² / Σ_r n     (per channel, over T, B, space)

The all-reduce is differentiable (:class:`AllReduceSum`): its backward all-reduces the gradients
of the statistics, so each process's gradient also carries the other processes' losses through
the shared mean and variance, as the one-process gradient does.
Metrics are summed over processes (:func:`all_reduce_sum`); only rank 0 prints and writes.
"""

import dataclasses
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DistributedSampler, Subset

from spikelearn import norm, walk

DEVICES = ("auto", "cpu", "cuda")


@dataclasses.dataclass(frozen=True)
class Context:
    """Where this process stands: ``rank`` of ``world_size``, its GPU (``local_rank``), device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def main(self):
        """Rank 0: the process that prints, logs and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self):
        return self.world_size > 1


def _env_int(name, default):
    text = os.environ.get(name, str(default))
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {text!r}") from None


def setup(device="auto"):
    """The :class:`Context` of this process; joins the process group when ``WORLD_SIZE > 1``.

    ``device``: ``"auto"`` (CUDA if available, else CPU), ``"cpu"`` or ``"cuda"`` (an error if
    PyTorch sees no GPU). Under torchrun on GPUs, process ``LOCAL_RANK`` uses GPU ``LOCAL_RANK``.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    world, rank = _env_int("WORLD_SIZE", 1), _env_int("RANK", 0)
    local = _env_int("LOCAL_RANK", 0)
    if not 0 <= rank < world:
        raise ValueError(f"RANK must be in [0, WORLD_SIZE), got RANK={rank}, WORLD_SIZE={world}")
    cuda = torch.cuda.is_available()
    if device == "cuda" and not cuda:
        raise ValueError(
            f"--device cuda was asked for, but PyTorch sees no GPU (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'none'}); use --device cpu, or install a CUDA "
            "build of PyTorch (make lab TORCH_INDEX=...)"
        )
    if device == "cuda" or (device == "auto" and cuda):
        if local >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK {local} has no GPU: this node has {torch.cuda.device_count()}; "
                "use --nproc-per-node <= the number of GPUs"
            )
        where = torch.device("cuda", local)
        torch.cuda.set_device(where)
    else:
        where = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if where.type == "cuda" else "gloo")
    return Context(rank, world, local, where)


def teardown(ctx):
    """Leave the process group (if this program joined one)."""
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx):
    if ctx.distributed:
        dist.barrier()


def all_reduce_sum(values, ctx):
    """The sums over every process of a list of numbers (float64), as a list of floats."""
    t = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    if ctx.distributed:
        dist.all_reduce(t)
    return t.tolist()


def all_gather(obj, ctx):
    """``[obj of rank 0, obj of rank 1, ...]`` on every process (small picklable objects only:
    this uses pickle between this program's own processes)."""
    if not ctx.distributed:
        return [obj]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def sampler(dataset, ctx, seed):
    """This process's share of each epoch's shuffled order (call ``set_epoch`` every epoch); the
    tail that does not divide evenly among the processes is dropped, so shares stay equal."""
    return DistributedSampler(
        dataset, ctx.world_size, ctx.rank, shuffle=True, seed=seed, drop_last=True
    )


def shard(dataset, ctx):
    """Every ``world_size``-th sample from ``rank`` on: an evaluation share with no sample
    repeated, so summed counts are exact."""
    return Subset(dataset, range(ctx.rank, len(dataset), ctx.world_size))


# --- synchronised batch statistics ----------------------------------------------------------


class AllReduceSum(torch.autograd.Function):
    """``y = Σ_r x_r`` over the processes, differentiable: the total loss is ``Σ_r L_r``, and
    ``∂(Σ_r L_r)/∂x_s = Σ_r ∂L_r/∂y`` is again a sum over the processes of what each received."""

    @staticmethod
    def forward(ctx, x):
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def _normalise_all_ranks(bn, x, weight):
    """``x`` ``[N, C, ...]`` normalised with the mean and variance over every process's ``x``;
    updates ``bn``'s running statistics (unbiased variance, as ``F.batch_norm``)."""
    dtype, x = x.dtype, x.float()
    dims = [0, *range(2, x.dim())]
    shape = [1, -1] + [1] * (x.dim() - 2)
    count = torch.full((1,), x.numel() / x.shape[1], dtype=x.dtype, device=x.device)
    sums = AllReduceSum.apply(torch.cat([x.sum(dims), count]))
    n = sums[-1]
    mean = sums[:-1] / n
    centred = x - mean.reshape(shape)
    var = AllReduceSum.apply((centred * centred).sum(dims)) / n
    y = centred * torch.rsqrt(var + bn.eps).reshape(shape)
    y = y * weight.reshape(shape) + bn.bias.reshape(shape)
    if bn.running_mean is None:  # no running statistics kept
        return y.to(dtype)
    with torch.no_grad():
        momentum = bn.momentum if bn.momentum is not None else 1 / float(bn.num_batches_tracked)
        bn.running_mean.mul_(1 - momentum).add_(mean.detach(), alpha=momentum)
        unbiased = var.detach() * n / (n - 1).clamp(min=1)
        bn.running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
    return y.to(dtype)


def _share(sync, bn):
    """Give ``sync`` the very parameter and buffer objects of ``bn`` (an optimiser built on the
    network before the swap keeps training them) and its training mode."""
    for name, value in list(bn.named_parameters(recurse=False)):
        setattr(sync, name, value)
    for name, value in list(bn.named_buffers(recurse=False)):
        setattr(sync, name, value)
    return sync.train(bn.training)


def _synchronising():
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class SyncBatchNormThroughTime(norm.BatchNormThroughTime):
    """:class:`spikelearn.norm.BatchNormThroughTime` (tdBN included: its ``gain = α·V_th`` is
    kept) with training statistics over every process's sequences. Same parameters and buffers,
    so its state dict loads into the unsynchronised network and back."""

    @classmethod
    def from_module(cls, bn):
        """The synchronised twin of ``bn``, holding ``bn``'s own parameters and buffers."""
        sync = cls(bn.num_features, bn.eps, bn.momentum)
        sync.gain = float(bn.gain)  # an instance attribute: tdBN's α·V_th, or 1
        return _share(sync, bn)

    def forward(self, x_seq):
        if not (self.training and _synchronising()):
            return super().forward(x_seq)
        if x_seq.dim() < 3 or x_seq.shape[2] != self.num_features:
            raise ValueError(
                f"x_seq must be [T, B, {self.num_features}, ...], got shape {tuple(x_seq.shape)}"
            )
        y = _normalise_all_ranks(self, x_seq.flatten(0, 1), self.weight * self.gain)
        return y.reshape(x_seq.shape)


TORCH_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class SyncBatchNorm(nn.BatchNorm2d):
    """``nn.BatchNorm1d/2d/3d`` (any input ``[N, C, ...]``) with training statistics over every
    process's batch."""

    @classmethod
    def from_module(cls, bn):
        """The synchronised twin of ``bn``, holding ``bn``'s own parameters and buffers."""
        sync = cls(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
        return _share(sync, bn)

    def _check_input_dim(self, x):
        if x.dim() < 2:
            raise ValueError(f"expected at least 2 dimensions [N, C, ...], got {tuple(x.shape)}")

    def forward(self, x):
        if not (self.training and _synchronising()) or not self.affine:
            return super().forward(x)
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
        return _normalise_all_ranks(self, x, self.weight)


def synchronise_batch_norm(model):
    """Swap every batch norm in ``model`` (found by :func:`spikelearn.walk.walk`) for its
    synchronised twin, in place; returns the number swapped. Outside a multi-process group the
    twins behave exactly as the originals."""
    swapped = 0
    for site in walk.walk(model):
        if site.kind != "norm" or isinstance(site.layer, SyncBatchNormThroughTime | SyncBatchNorm):
            continue
        if isinstance(site.layer, norm.BatchNormThroughTime):
            twin = SyncBatchNormThroughTime.from_module(site.layer)
        elif isinstance(site.layer, TORCH_BATCH_NORMS):
            twin = SyncBatchNorm.from_module(site.layer)
        else:
            raise TypeError(f"no synchronised twin for {type(site.layer).__name__} at {site.name}")
        walk.replace(site, twin)
        swapped += 1
    return swapped


__all__ = [
    "Context",
    "setup",
    "teardown",
    "barrier",
    "all_reduce_sum",
    "all_gather",
    "sampler",
    "shard",
    "AllReduceSum",
    "SyncBatchNormThroughTime",
    "SyncBatchNorm",
    "synchronise_batch_norm",
]
