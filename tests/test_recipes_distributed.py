"""Data-parallel training is exact: 2 gloo processes launched by torchrun equal 1 process on the
same global batch when batch statistics are synchronised (and differ when they are not)."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from spikelearn import conversion, models, norm
from spikelearn.recipes import distributed, run

# a small spiking ResNet with tdBN (ResNet-19's recipe at width 4, one block in each of 2 stages,
# a 16-wide linear layer), 3 SGD steps of global batch 16 on digits at 3x8x8
SMALL = [
    "tdbn-resnet19-cifar10-t2",
    "--dataset",
    "digits",
    "--image-size",
    "8",
    "--width",
    "4",
    "--model-option",
    "blocks=(1,1)",
    "--model-option",
    "hidden=16",
    "--epochs",
    "1",
    "--max-steps",
    "3",
    "--batch-size",
    "16",
    "--no-progress",
    "--device",
    "cpu",
]


def torchrun(out, *flags):
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "spikelearn.recipes",
        *SMALL,
        "--out",
        str(out),
        *flags,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return torch.load(out / "checkpoint.pt", weights_only=True)


def max_difference(a, b):
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def test_two_processes_equal_one_on_the_same_global_batch(tmp_path):
    one = run.train(run.parser().parse_args([*SMALL, "--out", str(tmp_path / "one")]))
    one = one["model"].state_dict()
    synced = torchrun(tmp_path / "sync", "--sync-bn")
    assert synced["config"]["world_size"] == 2 and len(synced["rng"]) == 2
    exact = max_difference(one, synced["model"])
    unsynced = max_difference(one, torchrun(tmp_path / "nosync", "--no-sync-bn")["model"])
    print(
        f"max |2 processes - 1 process| over parameters and running statistics after 3 steps: "
        f"{exact:.2e} with synchronised batch statistics, {unsynced:.2e} without"
    )
    assert exact < 1e-5, f"synchronised: differs by {exact:.3g}"
    assert unsynced > 1e3 * exact, f"unsynchronised differs by only {unsynced:.3g}"


# --- the pieces, in one process ----------------------------------------------------------------


def test_synchronised_twins_keep_parameters_gain_and_outputs_outside_a_group():
    torch.manual_seed(0)
    net = models.spiking_resnet(width=4, blocks=(1, 1), hidden=8)
    relu = conversion.relu_vgg(in_channels=1, layout=((4,),), image_size=4)
    params = {id(p) for p in net.parameters()}
    keys = list(net.state_dict())
    x = torch.rand(2, 3, 1, 8, 8)
    before = net(x)
    gains = [m.gain for m in net.modules() if isinstance(m, norm.BatchNormThroughTime)]
    assert (
        distributed.synchronise_batch_norm(net) == len(gains) == 7
    )  # stem 1, blocks 2 + 3, linear 1
    assert distributed.synchronise_batch_norm(relu) == 1
    synced = [m for m in net.modules() if isinstance(m, distributed.SyncBatchNormThroughTime)]
    assert [m.gain for m in synced] == pytest.approx(gains)  # tdBN's alpha * V_th survives
    assert {id(p) for p in net.parameters()} == params and list(net.state_dict()) == keys
    torch.testing.assert_close(net(x), before)  # no process group: plain batch norm
    assert isinstance(relu[1], distributed.SyncBatchNorm) and relu(torch.rand(3, 1, 4, 4)).shape


def test_shards_cover_the_test_set_once_and_the_sampler_splits_each_global_batch():
    data = list(range(11))
    ranks = [distributed.Context(r, 3, 0, torch.device("cpu")) for r in range(3)]
    shards = [list(distributed.shard(data, c)) for c in ranks]
    assert sorted(sum(shards, [])) == data
    one = list(distributed.sampler(data, distributed.Context(0, 1, 0, torch.device("cpu")), 5))
    two = [
        list(distributed.sampler(data, distributed.Context(r, 2, 0, torch.device("cpu")), 5))
        for r in range(2)
    ]
    assert [i for pair in zip(*two, strict=True) for i in pair] == one[:10]


def test_bad_environment_is_named(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match=r"RANK must be in \[0, WORLD_SIZE\)"):
        distributed.setup("cpu")
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ValueError, match="RANK must be an integer"):
        distributed.setup("cpu")
    with pytest.raises(ValueError, match="device must be one of"):
        distributed.setup("tpu")


def test_sync_batch_norm_rejects_a_bad_shape_only_in_a_group():
    bn = distributed.SyncBatchNormThroughTime.from_module(norm.TdBatchNorm(3))
    with pytest.raises(ValueError, match="3 channels"):
        bn(torch.rand(2, 4, 5, 6))
    assert isinstance(distributed.SyncBatchNorm.from_module(nn.BatchNorm1d(3)), nn.BatchNorm2d)
