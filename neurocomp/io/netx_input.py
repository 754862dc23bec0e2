"""Inputs of a netx network as lava-dl feeds them: Lava-ordered frames -> ``{graph input: [T, *shape]}``.

lava-dl's tests and tutorials hand a netx network a ``(W, H, C, T)`` array (``input.npy``) through a
``RingBuffer``, which sends column ``(t - 1) % T`` at step t (it cycles). :func:`netx_inputs` does the
same for ``steps`` steps and turns the columns into neurocomp's ``[steps, C, H, W]`` rows. When the
network's SDNN input layer runs on the host (``read_netx(..., sdnn_input="host")``, the default), the
rows are that layer's Delta payloads, computed with the registered Delta spec (bit-exact with Lava's
``PyDeltaModelFixed``): row t-1 is what netx's Delta sends at step t.

From the shell (the ``--input`` file of ``neurocomp emulate``/``deploy``)::

    python -m neurocomp.io.netx_input network.net input.npy --steps 9 -o in.npz
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..errors import NeurocompError, ValidationError


def _netx_meta(net) -> dict:
    try:
        return net.metadata["netx"]
    except (KeyError, TypeError, AttributeError):
        raise ValidationError(f"network '{getattr(net, 'name', net)}' was not read from a netx file (no "
                              "metadata['netx']); netx_inputs needs the network nc.load read from the .net file") \
            from None


def lava_columns(meta: dict, data, steps: int, what: str = "input") -> np.ndarray:
    """``data`` in Lava's ``(*lava_shape, T)`` order -> ``[steps, *IR shape]``, column ``t % T`` at row t."""
    from .netx import from_lava
    lava_shape = tuple(int(s) for s in meta["input"]["lava_shape"])
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise ValidationError(f"{what}: values must be numbers, got dtype {arr.dtype}")
    if arr.ndim == len(lava_shape) and arr.shape == lava_shape:
        arr = arr[..., None]                          # one frame without a time axis
    if arr.ndim != len(lava_shape) + 1 or arr.shape[:-1] != lava_shape or arr.shape[-1] < 1:
        ir = tuple(reversed(lava_shape))
        hint = (f"; it looks like neurocomp's [T, {', '.join(map(str, ir))}] order: give it to nc.emulate "
                "directly or convert it with neurocomp.io.netx.to_lava" if arr.shape[1:] == ir else "")
        raise ValidationError(f"{what}: shape {arr.shape} is not Lava's (W, H, C, T) order of the network input "
                              f"{lava_shape} + (T,) (lava-dl's input.npy layout){hint}")
    if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
        raise ValidationError(f"{what}: netx inputs are integers (Lava's RingBuffer sends int32); found "
                              f"{arr[arr != np.round(arr)].flat[0]!r}")
    cols = arr[..., np.arange(int(steps)) % arr.shape[-1]]
    return from_lava(cols.astype(np.int64))


def delta_encode(encoder: dict, frames: np.ndarray) -> np.ndarray:
    """The host-run Delta (``metadata["netx"]["input"]["encoder"]``) over ``frames`` ``[T, *shape]``: its
    payload of every step, int64 ``[T, *shape]`` (0 = no message), by the registered Delta spec."""
    from ..neurons import Delta
    from ..neurons.registry import kind_of
    model = Delta(vth=encoder["vth"], cum_error=encoder["cum_error"], spike_exp=encoder["spike_exp"],
                  state_exp=encoder["state_exp"])
    kind = kind_of(model)
    n = int(np.prod(frames.shape[1:]))
    params = {k: model.broadcast(k, n).astype(np.int64) for k in kind.params}
    state = {v: model.broadcast(kind.initial[v], n).astype(np.int64) for v in kind.state}
    out = np.zeros((frames.shape[0], n), np.int64)
    for t in range(frames.shape[0]):
        state, out[t] = kind.spec_step(params, state, frames[t].reshape(-1))
    return out.reshape(frames.shape)


def netx_inputs(net, data, steps: int) -> dict[str, np.ndarray]:
    """``{graph input: [steps, *shape]}`` for ``nc.emulate``/``deploy`` from Lava-ordered ``data`` (``(W, H, C, T)``
    or one ``(W, H, C)`` frame, as lava-dl's ``input.npy``), fed as lava-dl's RingBuffer feeds it; Delta-encoded
    on the host when the network's SDNN input layer runs there (module docstring)."""
    meta = _netx_meta(net)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValidationError(f"steps must be a positive integer, got {steps!r}")
    frames = lava_columns(meta, data, int(steps))
    encoder = meta["input"].get("encoder")
    rows = delta_encode(encoder, frames) if encoder else frames
    return {meta["input"]["name"]: rows}


def write_inputs(net_path, data_path, steps: int, out) -> Path:
    """Read netx file ``net_path`` and ``(W, H, C, T)`` array ``data_path`` (.npy); write :func:`netx_inputs`
    to ``out`` (.npz, atomically), the ``--input`` file of ``neurocomp emulate``."""
    from ..atomic import atomic_file
    from . import load
    data_path = Path(data_path)
    try:
        data = np.load(data_path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{data_path}: not a readable .npy array ({exc})") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        raise ValidationError(f"{data_path}: is an .npz; give the (W, H, C, T) frames as one .npy array")
    rows = netx_inputs(load(net_path), data, steps)
    out = Path(out)
    with atomic_file(out) as fh:
        np.savez(fh, **rows)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neurocomp.io.netx_input",
                                 description="Turn lava-dl (W, H, C, T) input frames into the --input .npz of "
                                             "`neurocomp emulate` for a netx network (host Delta encoding for SDNN)")
    ap.add_argument("network", help="the netx network (.net)")
    ap.add_argument("frames", help="input frames in Lava's (W, H, C, T) order (.npy, e.g. lava-dl's input.npy)")
    ap.add_argument("--steps", type=int, required=True, help="steps to run (frames cycle as Lava's RingBuffer)")
    ap.add_argument("-o", "--output", required=True, help="the .npz to write")
    args = ap.parse_args(argv)
    try:
        out = write_inputs(args.network, args.frames, args.steps, args.output)
    except NeurocompError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
