"""``python -m spikelearn.recipes NAME ...`` and ``torchrun ... -m spikelearn.recipes NAME ...``."""

from spikelearn.recipes import run  # noqa: I001

if __name__ == "__main__":
    raise SystemExit(run.main())
