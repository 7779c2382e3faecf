"""Resuming is exact: n epochs, stop, resume for m equals n + m uninterrupted, with every source
of randomness in play (CIFAR's random crops and flips draw from torch's generator every step)."""

import hashlib
import random

import numpy as np
import pytest
import torch
from test_datasets import cifar_like

from spikelearn import datasets
from spikelearn.recipes import resume, run

# tdBN's CIFAR-10 recipe (augmentation, SGD with momentum and weight decay, cosine schedule) at
# width 2 with one block per stage, on 40 CIFAR-10 images in the binary format
RUN = [
    "tdbn-resnet19-cifar10-t2",
    "--width",
    "2",
    "--model-option",
    "blocks=(1,1)",
    "--model-option",
    "hidden=8",
    "--epochs",
    "4",
    "--max-steps",
    "2",
    "--batch-size",
    "8",
    "--no-progress",
]


@pytest.fixture
def train(monkeypatch, tmp_path):
    archive = cifar_like(np.random.default_rng(0), n_per_batch=8)[1]
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    (tmp_path / "data" / "cifar10" / "cifar-10-binary.tar.gz").write_bytes(archive)
    table = {
        "urls": ["file:///nowhere/"],
        "files": {"cifar-10-binary.tar.gz": hashlib.sha256(archive).hexdigest()},
    }
    monkeypatch.setitem(datasets.SOURCES, "cifar10", table)
    return lambda *argv: run.train(
        run.parser().parse_args([*RUN, "--data", str(tmp_path / "data"), *argv])
    )


def test_stop_and_resume_equals_the_uninterrupted_run(train, tmp_path):
    whole = train("--out", str(tmp_path / "whole"))
    first = train("--out", str(tmp_path / "split"), "--until-epoch", "2")
    assert [r["epoch"] for r in first["history"]] == [1, 2]
    random.seed(123)  # whatever happened in between: the checkpoint restores every generator
    torch.manual_seed(123)
    np.random.seed(123)
    resumed = train("--out", str(tmp_path / "split"), "--resume")
    a, b = whole["model"].state_dict(), resumed["model"].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ"
    drop = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]
    assert drop(resumed["history"]) == drop(whole["history"])  # every epoch's metrics too
    with pytest.raises(ValueError, match="time_steps: checkpoint 2, now 6"):
        train("--out", str(tmp_path / "split"), "--resume", "--T", "6")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        train("--out", str(tmp_path / "nowhere"), "--resume")


def test_random_states_survive_a_weights_only_round_trip(tmp_path):
    resume.seed_everything(7)
    state = resume.rng_state()
    expected = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    resume.save(tmp_path / "c.pt", rng=[state], epoch=1)
    loaded = resume.load(tmp_path / "c.pt")  # weights_only=True inside
    resume.set_rng_state(loaded["rng"][0])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert [random.random() for _ in range(3)] == expected[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]  # no temporary file left
