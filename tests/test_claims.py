import json

import numpy as np
import pytest
import torch

from spikelearn import claims


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("SPIKELEARN_SEED", "SPIKELEARN_CLAIMS", "SPIKELEARN_CLAIMS_SURVEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    "value, op, threshold, expected",
    [
        (0.97, ">=", 0.95, 0.02),
        (3.0, ">", 1.0, 2.0),
        (0.1, "<=", 0.15, 0.05),
        (2.0, "<", 1.0, -1.0),
    ],
)
def test_margin_is_the_distance_to_failing(value, op, threshold, expected):
    assert claims.margin(value, op, threshold) == pytest.approx(expected)


def test_claim_holds_returns_the_value_and_prints_the_margin(capsys):
    assert claims.claim("accuracy", torch.tensor(0.97), ">=", 0.95) == pytest.approx(0.97)
    out = capsys.readouterr().out
    assert "claim holds: accuracy = 0.97 >= 0.95" in out and "+0.02" in out


def test_failing_claim_raises_naming_claim_value_and_threshold():
    with pytest.raises(AssertionError, match=r"claim failed: accuracy = 0.9, expected >= 0.95"):
        claims.claim("accuracy", 0.9, ">=", 0.95)
    with pytest.raises(AssertionError):
        claims.claim("strict", 1.0, ">", 1.0)  # equality is not '>'


def test_claims_are_recorded_when_asked(tmp_path, monkeypatch):
    path = tmp_path / "claims.jsonl"
    monkeypatch.setenv("SPIKELEARN_CLAIMS", str(path))
    claims.claim("a", 1.0, "<", 2.0)
    with pytest.raises(AssertionError):
        claims.claim("b", 5.0, "<=", 2.0)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["name"] for r in records] == ["a", "b"]
    assert records[0] == {"name": "a", "value": 1.0, "op": "<", "threshold": 2.0, "margin": 1.0}
    assert records[1]["margin"] == -3.0  # a failure is recorded before it raises


def test_survey_mode_records_without_raising(tmp_path, monkeypatch, capsys):
    path = tmp_path / "claims.jsonl"
    monkeypatch.setenv("SPIKELEARN_CLAIMS", str(path))
    monkeypatch.setenv("SPIKELEARN_CLAIMS_SURVEY", "1")
    claims.claim("b", 5.0, "<=", 2.0)
    assert "claim FAILS" in capsys.readouterr().out
    assert json.loads(path.read_text())["margin"] == -3.0


def test_nothing_is_written_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    claims.claim("a", 1.0, "<", 2.0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (("", 1.0, ">", 0.0), "name must be a non-empty string"),
        (("x", 1.0, "=>", 0.0), "op must be one of"),
        (("x", float("nan"), ">", 0.0), "must not be NaN"),
        (("x", torch.ones(2), ">", 0.0), "value must be a number, got a tensor of shape"),
    ],
)
def test_bad_claims_are_named_errors(args, message):
    with pytest.raises(ValueError, match=message):
        claims.claim(*args)


def test_seed_reads_the_environment_and_seeds_every_generator(monkeypatch):
    monkeypatch.setenv("SPIKELEARN_SEED", "3")
    assert claims.seed() == 3
    a = (torch.rand(3), np.random.rand(3))
    torch.manual_seed(3)
    np.random.seed(3)
    assert torch.equal(a[0], torch.rand(3)) and np.array_equal(a[1], np.random.rand(3))
    monkeypatch.delenv("SPIKELEARN_SEED")
    assert claims.seed() == 0


@pytest.mark.parametrize("text", ["-1", "one", "1.5"])
def test_bad_seed_is_a_named_error(monkeypatch, text):
    monkeypatch.setenv("SPIKELEARN_SEED", text)
    with pytest.raises(ValueError, match="SPIKELEARN_SEED must be a non-negative integer"):
        claims.seed()
