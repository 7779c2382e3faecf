"""From the digits to the papers: the tutorials' networks on the real datasets, one command, on one
CPU or many GPUs (``python -m spikelearn.recipes NAME`` or ``torchrun ... -m spikelearn.recipes
NAME``). The recipes (catalog), their data (loaders), ``torch.distributed`` (distributed),
gradient checkpointing (recompute), exact resumption (resume) and the run itself (run); the
networks, losses and datasets are the library's own. Guide: ``docs/recipes.md``."""
