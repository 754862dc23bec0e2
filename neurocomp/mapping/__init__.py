"""The mapping stage: the neuron-level graph, per-core limits and usage, the mesh geometry, the per-core
tables, the compiled artifact and its independent validator (what the partition/place/route/tables
passes produce and the backends consume)."""
