"""A run's report whose costly part is computed the first time anything of it is read.

A Simulator run of one step would otherwise spend milliseconds on the target's cost model and the
workload metrics, far more than the step itself (docs/sessions.md). :class:`LazyReport` is a dict
that holds a ``fill`` function: the first read of any key (or ``in``, iteration, ``len``, ``get``,
``items``, JSON or pickle) calls ``fill(report)`` once, which adds or replaces keys in place; after it
the report is an ordinary dict. Writes before that are kept unless ``fill`` writes the same key.
With ``keys``, only the costly keys that ``fill`` adds are deferred: reading (``[]``, ``in``, ``get``) any
other key does not fill (the cycle timing report's one-step timeline: ``emulate(timing="cycle")`` and reading
the latencies then do not trace the step); iteration and the rest still fill.
"""
from __future__ import annotations


class LazyReport(dict):
    """``dict(data)`` completed by ``fill(self)`` on first read (see the module docstring)."""

    __slots__ = ("_fill", "_keys")

    def __init__(self, data: dict, fill, keys=None):
        super().__init__(data)
        self._fill = fill
        self._keys = None if keys is None else frozenset(keys)

    def _for(self, key) -> "LazyReport":
        """Filled unless only ``keys`` are deferred and ``key`` is none of them."""
        if self._fill is not None and (self._keys is None or key in self._keys):
            self.resolve()
        return self

    @property
    def pending(self) -> bool:
        """True until the fill has run."""
        return self._fill is not None

    def resolve(self) -> "LazyReport":
        fill, self._fill = self._fill, None
        if fill is not None:
            try:
                fill(self)
            except BaseException:
                self._fill = fill          # not half-filled silently: the next read tries again
                raise
        return self

    def __getitem__(self, key):
        return dict.__getitem__(self._for(key), key)

    def __contains__(self, key):
        return dict.__contains__(self._for(key), key)

    def __iter__(self):
        return dict.__iter__(self.resolve())

    def __len__(self):
        return dict.__len__(self.resolve())

    def __repr__(self):
        return dict.__repr__(self.resolve())

    def __eq__(self, other):
        return dict.__eq__(self.resolve(), other)

    __hash__ = None

    def get(self, key, default=None):
        return dict.get(self._for(key), key, default)

    def keys(self):
        return dict.keys(self.resolve())

    def values(self):
        return dict.values(self.resolve())

    def items(self):
        return dict.items(self.resolve())

    def pop(self, *args):
        return dict.pop(self.resolve(), *args)

    def setdefault(self, key, default=None):
        return dict.setdefault(self.resolve(), key, default)

    def copy(self) -> dict:
        return dict(self.resolve().items())

    def __reduce_ex__(self, protocol):
        return dict, (self.copy(),)
