"""Neuron models on the chip: one module per integer model, each holding everything the model needs at
every stage (IR dataclass with its equation, table fields, numpy spec, numba step, Lava factory, cost
op classes), registered by IR type in :mod:`neurocomp.neurons.registry`."""
