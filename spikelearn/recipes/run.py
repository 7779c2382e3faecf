"""The training run of a recipe, and its command line.

::

    python -m spikelearn.recipes NAME [--data DIR] [--download] [overrides]
    torchrun --nproc-per-node N -m spikelearn.recipes NAME ...          # data-parallel

One epoch: the distributed sampler's share of the training set in global batches of
``--batch-size`` (split over the processes), each batch augmented (CIFAR), encoded into ``T``
steps, run forward (under ``torch.autocast`` for ``--precision bf16/fp16`` on a GPU), the
recipe's loss backward (through :class:`~spikelearn.recipes.recompute.Recomputed` segments with
``--checkpoint-segments``), an optimiser step; then the cosine schedule steps, the test share is
evaluated, and the metrics are summed over processes. Rank 0 shows a progress bar (tqdm), appends
the epoch to ``log.csv`` and ``log.json``, redraws ``curves.png`` and writes ``checkpoint.pt``
(:mod:`~spikelearn.recipes.resume`); ``--resume`` continues from it exactly.

Seeding: the network is initialised from ``--seed`` in every process (so all replicas start
equal, as ``DistributedDataParallel`` also enforces), then each process's generators are seeded
from ``(seed, rank)`` for augmentation and rate encoding; the sampler's order depends only on the
seed and the epoch. On a GPU, cuDNN is set to deterministic algorithms so a resumed run repeats
the uninterrupted one.
"""

import argparse
import ast
import csv
import json
import math
import os
import platform
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from spikelearn import datasets

from . import catalog, distributed, loaders, recompute, resume

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
# the settings a resumed run must share with the run that wrote the checkpoint
RUN_KEYS = (
    "recipe",
    "dataset",
    "time_steps",
    "width",
    "model_options",
    "image_size",
    "batch_size",
    "lr",
    "epochs",
    "seed",
    "world_size",
    "sync_bn",
    "precision",
)


def parser():
    p = argparse.ArgumentParser(
        prog="python -m spikelearn.recipes",
        description="Train one of the papers' networks (python -m spikelearn.recipes list).",
    )
    p.add_argument("recipe", help="the recipe's name, or 'list' for the table")
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data folder (default $SPIKELEARN_DATA or ~/.cache/spikelearn)",
    )
    p.add_argument("--download", action="store_true", help="fetch missing files (rank 0)")
    p.add_argument(
        "--dataset",
        choices=("native", "digits"),
        default="native",
        help="digits: the embedded digits in the recipe's shape (offline)",
    )
    p.add_argument("--out", type=Path, default=None, help="output folder (default runs/NAME)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None, help="global batch, all processes")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--T", "--time-steps", dest="time_steps", type=int, default=None)
    p.add_argument("--width", type=int, default=None, help="channels of the first stage")
    p.add_argument(
        "--model-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a builder argument, e.g. blocks=(1,1) (repeatable)",
    )
    p.add_argument("--image-size", type=int, default=None, help="with --dataset digits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=distributed.DEVICES, default="auto")
    p.add_argument(
        "--precision",
        choices=tuple(PRECISIONS),
        default="fp32",
        help="bf16/fp16 autocast (GPU only)",
    )
    p.add_argument("--channels-last", action="store_true", help="NHWC convolutions (GPU only)")
    p.add_argument(
        "--checkpoint-segments",
        type=int,
        default=0,
        help="gradient checkpointing in this many segments (0: off)",
    )
    sync = p.add_mutually_exclusive_group()
    sync.add_argument(
        "--sync-bn",
        dest="sync_bn",
        action="store_true",
        default=None,
        help="synchronise batch statistics across processes (default with BN)",
    )
    sync.add_argument("--no-sync-bn", dest="sync_bn", action="store_false")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument(
        "--until-epoch", type=int, default=None, help="stop after this many epochs (resume later)"
    )
    p.add_argument("--max-steps", type=int, default=None, help="batches per epoch at most")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _option(text):
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise ValueError(f"--model-option must be KEY=VALUE (e.g. blocks=(1,1)), got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a bare word: a string


def _positive(name, value, low=1):
    if value is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")


def configure(args, world_size):
    """The run's settings: the recipe's, with the command line's overrides, checked."""
    recipe = catalog.get(args.recipe)
    if args.time_steps is not None and recipe.time_steps == 0:
        raise ValueError(
            f"{recipe.name} trains a ReLU network (mapped to TTFS afterwards): it has no time "
            "steps, leave out --T"
        )
    if args.time_steps is not None and args.time_steps <= 0:
        raise ValueError(f"--T (time steps) must be >= 1, got {args.time_steps}")
    for name in ("epochs", "batch_size", "width", "image_size", "until_epoch", "max_steps"):
        _positive(f"--{name.replace('_', '-')}", getattr(args, name))
    _positive("--checkpoint-segments", args.checkpoint_segments, 0)
    _positive("--workers", args.workers, 0)
    if args.lr is not None and not args.lr > 0:
        raise ValueError(f"--lr must be > 0, got {args.lr}")
    batch = args.batch_size or recipe.batch_size
    if batch < world_size:
        raise ValueError(
            f"--batch-size {batch} is smaller than the {world_size} processes: each process "
            "needs at least one sample of every global batch"
        )
    if batch % world_size:
        raise ValueError(
            f"--batch-size {batch} does not divide among {world_size} processes; use a multiple "
            f"of {world_size} (the global batch is split equally)"
        )
    options = dict(_option(o) for o in args.model_option)
    catalog.model_arguments(recipe, 10, options=options)  # unknown options fail now, not later
    return {
        "recipe": recipe.name,
        "dataset": args.dataset,
        "time_steps": args.time_steps or recipe.time_steps,
        "width": args.width,
        "model_options": options,
        "image_size": args.image_size,
        "batch_size": batch,
        "lr": args.lr or recipe.lr,
        "epochs": args.epochs or recipe.epochs,
        "seed": args.seed,
        "world_size": world_size,
        "sync_bn": recipe.sync_batch_norm_default if args.sync_bn is None else args.sync_bn,
        "precision": args.precision,
        "channels_last": args.channels_last,
        "checkpoint_segments": args.checkpoint_segments,
    }


def _check_device(config, ctx):
    if ctx.device.type != "cuda":
        if config["precision"] != "fp32":
            raise ValueError(
                f"--precision {config['precision']} is for GPUs (this run is on {ctx.device}); "
                "on a CPU use fp32"
            )
        if config["channels_last"]:
            raise ValueError(f"--channels-last is for GPUs (this run is on {ctx.device})")
    elif config["precision"] == "bf16" and not torch.cuda.is_bf16_supported():
        raise ValueError("--precision bf16: this GPU does not support bfloat16; use fp16")


def _machine(ctx):
    where = torch.cuda.get_device_name(ctx.device) if ctx.device.type == "cuda" else "CPU"
    return {
        "device": where,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "processes": ctx.world_size,
    }


# --- logs -------------------------------------------------------------------------------------


def write_logs(out, config, history, machine, summary=None):
    """``log.csv`` and ``log.json`` (one row per epoch) and ``curves.png`` in ``out``."""
    columns = list(dict.fromkeys(k for row in history for k in row))
    with open(out / "log.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(history)
    record = {"config": config, "machine": machine, "history": history, "summary": summary}
    (out / "log.json").write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    plot_curves(history, out / "curves.png", title=config["recipe"])


def plot_curves(history, path, title=""):
    """Loss and accuracies against the epoch."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = [row["epoch"] for row in history]
    loss_ax.plot(epochs, [row["train_loss"] for row in history], marker="o")
    loss_ax.set(xlabel="epoch", ylabel="training loss", title=title)
    for key, marker in (("train_acc", "o"), ("test_acc", "s")):
        acc_ax.plot(epochs, [row[key] for row in history], marker=marker, label=key)
    acc_ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1))
    acc_ax.legend()
    fig.savefig(path, dpi=100)


# --- the run ----------------------------------------------------------------------------------


def _batches(loader, max_steps):
    for i, batch in enumerate(loader):
        if max_steps is not None and i >= max_steps:
            return
        yield batch


def _prepare_batch(x, y, recipe, config, ctx, augment=False):
    x, y = x.to(ctx.device, non_blocking=True), y.to(ctx.device, non_blocking=True)
    if augment:
        x = loaders.augment(x)
    return catalog.encode(recipe, x, config["time_steps"]), y


def _autocast(config, ctx):
    dtype = PRECISIONS[config["precision"]]
    return torch.autocast(ctx.device.type, dtype=dtype) if dtype is not None else nullcontext()


@torch.no_grad()
def evaluate(model, loader, recipe, config, ctx, loss_fn):
    """``[correct, samples]`` of this process's test share (``model`` unwrapped: no collective
    calls, since the shares may differ by one batch)."""
    model.eval()
    correct, total = 0.0, 0
    for x, y in loader:
        x_seq, y = _prepare_batch(x, y, recipe, config, ctx)
        with _autocast(config, ctx):
            correct += loss_fn.accuracy(model(x_seq), y) * len(y)
        total += len(y)
    return [correct, total]


def train_epoch(model, batches, recipe, config, ctx, loss_fn, optimizer, scaler, augment):
    """One pass over ``batches`` (a progress bar over the loader); returns this process's
    ``[loss x samples, correct, samples]``."""
    model.train()
    sums = [0.0, 0.0, 0]
    for x, y in batches:
        x_seq, y = _prepare_batch(x, y, recipe, config, ctx, augment)
        with _autocast(config, ctx):
            output = model(x_seq)
            loss = loss_fn(output, y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()  # fp16: the scaled loss; otherwise the loss itself
        scaler.step(optimizer)
        scaler.update()
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(f"the training loss became {value}")
        sums[0] += value * len(y)
        sums[1] += loss_fn.accuracy(output, y) * len(y)
        sums[2] += len(y)
        if hasattr(batches, "set_postfix"):
            batches.set_postfix(loss=f"{value:.3f}")
    return sums


def train(args):
    """Run the recipe ``args.recipe`` (an ``argparse.Namespace`` of :func:`parser`); returns
    ``{"config", "history", "summary"}`` (on every process)."""
    ctx = distributed.setup(args.device)
    try:
        return _train(args, ctx)
    finally:
        distributed.teardown(ctx)


def _train(args, ctx):
    config = configure(args, ctx.world_size)
    _check_device(config, ctx)
    recipe = catalog.get(config["recipe"])
    out = args.out or Path("runs") / recipe.name
    root = args.data or datasets.default_root()
    if ctx.device.type == "cuda":
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False

    # data: rank 0 downloads (if asked) while the others wait, then everyone reads the files
    if args.download and ctx.main:
        loaders.load(
            recipe.dataset, root, config["time_steps"], args.dataset, True, args.image_size
        )
    distributed.barrier(ctx)
    data = loaders.load(
        recipe.dataset, root, config["time_steps"], args.dataset, False, args.image_size
    )
    if len(data.train) < config["batch_size"]:
        raise ValueError(
            f"the training set has {len(data.train)} samples, fewer than one global batch "
            f"(--batch-size {config['batch_size']})"
        )

    # the network, identical in every process
    resume.seed_everything(config["seed"])
    channels, size = (data.shape[-3], data.shape[-1]) if len(data.shape) >= 3 else (None, None)
    core = catalog.build_model(
        recipe, data.num_classes, channels, size, config["width"], config["model_options"]
    ).to(ctx.device)
    if config["channels_last"]:
        core = core.to(memory_format=torch.channels_last)
    if config["sync_bn"] and ctx.distributed:
        distributed.synchronise_batch_norm(core)
    loss_fn = catalog.LOSSES[recipe.loss]()
    optimizer = catalog.optimizer(recipe, core.parameters(), config["lr"])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config["epochs"])
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=config["precision"] == "fp16")

    train_sampler = distributed.sampler(data.train, ctx, config["seed"])
    local_batch = config["batch_size"] // ctx.world_size
    pin = ctx.device.type == "cuda"
    train_loader = DataLoader(
        data.train,
        local_batch,
        sampler=train_sampler,
        drop_last=True,
        num_workers=args.workers,
        pin_memory=pin,
    )
    test_loader = DataLoader(
        distributed.shard(data.test, ctx), local_batch, num_workers=args.workers, pin_memory=pin
    )

    start, history, extra = 0, [], {}
    checkpoint_path = out / "checkpoint.pt"
    rng_states = None
    if args.resume:
        saved = resume.load(checkpoint_path)
        resume.check_compatible(saved["config"], config, RUN_KEYS)
        core.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        start, history, extra = saved["epoch"], saved["history"], saved["extra"]
        catalog.apply_prepared(core, extra)
        rng_states = saved["rng"]
    elif recipe.prepare == "tune_surrogate":  # on the first samples, the same in every process
        x0, y0 = next(iter(DataLoader(data.train, min(64, len(data.train)))))
        x_seq, y0 = _prepare_batch(x0, y0, recipe, config, ctx)
        extra = catalog.tune_surrogate(core, x_seq, y0, loss_fn)

    model = core
    if config["checkpoint_segments"]:
        model = recompute.Recomputed(model, config["checkpoint_segments"])
    if ctx.distributed:
        model = DistributedDataParallel(model, [ctx.device] if ctx.device.type == "cuda" else None)

    process_seed = np.random.SeedSequence([config["seed"], ctx.rank]).generate_state(1)[0]
    resume.seed_everything(int(process_seed))
    if rng_states is not None:
        resume.set_rng_state(rng_states[ctx.rank], ctx.device)
    machine = _machine(ctx)
    if ctx.main:
        out.mkdir(parents=True, exist_ok=True)
    stop = min(config["epochs"], args.until_epoch or config["epochs"])
    for epoch in range(start, stop):
        began = time.perf_counter()
        train_sampler.set_epoch(epoch)
        bar = tqdm(
            _batches(train_loader, args.max_steps),
            leave=False,
            total=min(len(train_loader), args.max_steps or len(train_loader)),
            desc=f"epoch {epoch + 1}/{config['epochs']}",
            disable=args.no_progress or not ctx.main,
        )
        sums = train_epoch(
            model, bar, recipe, config, ctx, loss_fn, optimizer, scaler, data.augment
        )
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        loss_sum, correct, n = distributed.all_reduce_sum(sums, ctx)
        test_correct, test_n = distributed.all_reduce_sum(
            evaluate(core, test_loader, recipe, config, ctx, loss_fn), ctx
        )
        row = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": loss_sum / n,
            "train_acc": correct / n,
            "test_acc": test_correct / max(test_n, 1),
            "seconds": time.perf_counter() - began,
        }
        if recipe.finish == "ttfs" and epoch + 1 == config["epochs"]:
            row.update(_ttfs_metrics(core, data, test_loader, config, ctx))
        history.append(row)
        rng = distributed.all_gather(resume.rng_state(ctx.device), ctx)
        if ctx.main:
            resume.save(
                checkpoint_path,
                model=core.state_dict(),
                optimizer=optimizer.state_dict(),
                scheduler=scheduler.state_dict(),
                scaler=scaler.state_dict(),
                epoch=epoch + 1,
                history=history,
                config=config,
                extra=extra,
                rng=rng,
            )
            write_logs(out, config, history, machine)
            shown = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch")
            print(f"{recipe.name} epoch {epoch + 1}/{config['epochs']}: {shown}", flush=True)
        distributed.barrier(ctx)
    summary = dict(history[-1]) if history else {}
    if ctx.main and history:
        write_logs(out, config, history, machine, summary)
    return {"config": config, "history": history, "summary": summary, "model": core}


def _ttfs_metrics(core, data, test_loader, config, ctx):
    """The trained ReLU network mapped to TTFS, measured on the test share (summed over ranks)."""
    x_train = torch.stack([data.train[i][0] for i in range(min(1024, len(data.train)))])
    batches = ((x.to(ctx.device), y.to(ctx.device)) for x, y in test_loader)
    counts = catalog.ttfs_mapping_metrics(core, x_train.to(ctx.device), batches)
    n, ann, snn, equal, spikes = distributed.all_reduce_sum(counts.tolist(), ctx)
    n = max(n, 1)
    return {
        "ann_test_acc": ann / n,
        "ttfs_test_acc": snn / n,
        "ttfs_same_prediction": equal / n,
        "ttfs_spikes_per_neuron": spikes / n,
    }


def main(argv=None):
    args = parser().parse_args(argv)
    if args.recipe == "list":
        print(catalog.table())
        return 0
    try:
        result = train(args)
    except (ValueError, FileNotFoundError) as err:  # a bad configuration or missing data
        if int(os.environ.get("RANK", 0)) == 0:
            print(f"error: {err}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", 0)) == 0 and result["summary"]:
        print(json.dumps({k: v for k, v in result["summary"].items()}, default=str))
    return 0


__all__ = ["parser", "configure", "train", "main", "evaluate", "write_logs", "plot_curves"]
