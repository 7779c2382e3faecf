"""From the digits to the papers: the tutorials' networks trained on the real datasets, one command.

::

    python -m spikelearn.recipes list                                  # the table of recipes
    python -m spikelearn.recipes tdbn-resnet19-cifar10-t4 --data ~/data --download
    python -m spikelearn.recipes tdbn-resnet19-cifar10-t4 --dataset digits --width 8 --epochs 1
    torchrun --nproc-per-node 8 -m spikelearn.recipes tdbn-resnet19-cifar10-t4 --data ~/data

One idea per module: :mod:`~spikelearn.recipes.catalog` (the recipes: paper, network, T, encoding,
loss, optimiser, epochs, the paper's number), :mod:`~spikelearn.recipes.loaders` (the data each
recipe reads, or the embedded digits in its shape), :mod:`~spikelearn.recipes.distributed`
(``torch.distributed`` from torchrun's environment, synchronised batch statistics),
:mod:`~spikelearn.recipes.recompute` (gradient checkpointing of BPTT),
:mod:`~spikelearn.recipes.resume` (checkpoints that resume exactly) and
:mod:`~spikelearn.recipes.run` (the training run and its command line). The networks, losses,
datasets and neurons are the library's own; nothing here is a second model zoo.
"""
