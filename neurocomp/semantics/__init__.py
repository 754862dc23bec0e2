"""The executable spec of what an integer network computes: Lava 0.10's fixed-point arithmetic, the
numpy reference simulator, learning semantics, input/record validation and the synapse enumerators
(one per connectivity type). Backends implement this; nothing here imports a backend."""
