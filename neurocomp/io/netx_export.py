"""Write a network as a lava-dl netx HDF5 file (``neurocomp export --format netx``, :func:`write_netx`).

The inverse of :mod:`neurocomp.io.netx` for the networks that reader builds, so that netx (and
``read_netx``) loads the file back to the same network: every value written is checked to mean, under the
reader's rules (netx's own), what the IR means, and anything that would not is refused by name.

What maps back
--------------
* a chain: one graph input, then populations each fed by exactly one projection from the previous one
  (plus, for a ``dense_rec`` layer, a ``Dense`` self-projection); the last population is the output.
* the input layer: the graph input's ``[C, H, W]`` / ``[N]`` shape; its neuron is the host-run SDNN
  encoder of ``metadata["netx"]["input"]["encoder"]`` (a Delta, ``read_netx(sdnn_input="host")``) or a
  population fed by a ``OneToOne`` of weight 1 (netx's Input block: a CUBA/LOIHI neuron or a Delta);
  ``metadata["netx"]["input"]["transform"]`` becomes the layer's ``weight``/``bias`` again.
* ``Conv2d`` -> ``conv`` (raw weights; an IR ``weight_exp = -1`` of even weights is written halved, as
  the reader doubles odd ones), ``Dense`` -> ``dense`` / ``dense_rec`` (weights ``w_eff * 2**weight_exp``,
  which netx's ``optimize_weight_bits`` must turn back into the same products ``w * 2**exp``: checked);
  a ``flatten`` layer before the first dense layer after a (C, H, W) one.
* neurons: ``LoihiLIF`` -> ``CUBA`` (``iDecay = du + 1``, ``vDecay = dv``, ``vThMant = vth``, bias with
  ``bias_exp = 6``), ``SigmaDelta`` -> ``SDNN`` (ReLU, no cum_error, ``state_exp = spike_exp = 6``:
  netx's), ``Sigma`` -> ``SDNN`` with ``sigma_output``, ``Delta`` as the input layer's neuron.
  Initial states must be 0 (a netx file holds none); per-neuron thresholds or decays are refused.

Refused with the reason: Sparse/OneToOne projections between layers, delays on a conv, branches,
several inputs, models netx has no neuron type for (RF layers are not written yet). Dense sums that
overflow int32 may wrap at a different point when netx picks another exponent for the same products.
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import NeurocompError, ValidationError
from ..ir import Network
from ..ir.connectivity import determine_sign_mode
from ..semantics.fixedpoint import effective_weights
from .netx import BIAS_EXP, SPIKE_EXP, STATE_EXP, _conv_weights, _dense_options, netx_weight_bits


def _fail(net: Network, where: str, problem: str, fix: str) -> ValidationError:
    return ValidationError(f"netx export of '{net.name}': {where}: {problem}; {fix}")


# ------------------------------------------------------------------------------------- neurons
def _scalar(net, where, model, name):
    v = np.asarray(getattr(model, name))
    if v.size != 1 and not np.all(v == v.reshape(-1)[0]):
        raise _fail(net, where, f"{type(model).__name__}.{name} differs between neurons",
                    "netx stores one value per layer; give the population one value")
    return int(v.reshape(-1)[0])


def _at_defaults(net, where, model, names):
    """Fields of ``model`` not in ``names`` (initial states) must be 0/False: a netx file holds no state."""
    for f in fields(model):
        if f.name in names:
            continue
        if np.any(np.asarray(getattr(model, f.name)) != 0):
            raise _fail(net, where, f"{type(model).__name__}.{f.name} is not 0",
                        "a netx file holds no initial state; start it at 0")


def _cuba(net, where, model, is_input):
    du, dv, vth = (_scalar(net, where, model, k) for k in ("du", "dv", "vth"))
    bias = np.asarray(model.bias_mant)
    if np.any(bias != 0) and _scalar(net, where, model, "bias_exp") != BIAS_EXP:
        raise _fail(net, where, f"bias_exp = {model.bias_exp}", f"netx shifts every bias by {BIAS_EXP}: use bias_exp "
                    f"{BIAS_EXP}")
    if is_input and np.any(bias != 0):
        raise _fail(net, where, "the input layer's neurons have a bias", "netx's input layer takes none (its 'bias' "
                    "is the data transform); drive the layer through its input instead")
    _at_defaults(net, where, model, ("du", "dv", "vth", "bias_mant", "bias_exp"))
    return {"type": "CUBA", "iDecay": du + 1, "vDecay": dv, "vThMant": vth, "refDelay": 1, "wgtExp": 0}, bias


def _sdnn_common(net, where, model):
    for name, want in (("spike_exp", SPIKE_EXP), ("state_exp", STATE_EXP), ("cum_error", 0)):
        if _scalar(net, where, model, name) != want:
            raise _fail(net, where, f"{type(model).__name__}.{name} = {getattr(model, name)}",
                        f"netx builds SDNN layers with {name} = {want}")


def _sigma_delta(net, where, model, is_input):
    _sdnn_common(net, where, model)
    if _scalar(net, where, model, "act_mode") != 1:
        raise _fail(net, where, "act_mode is not ReLU", "netx builds SigmaDelta layers with Lava's default ReLU")
    _at_defaults(net, where, model, ("vth", "bias", "act_mode", "cum_error", "spike_exp", "state_exp"))
    return {"type": "SDNN", "activation": "relu", "vThMant": _scalar(net, where, model, "vth")}, np.asarray(model.bias)


def _delta(net, where, model, is_input):
    if not is_input:
        raise _fail(net, where, "a Delta population inside the network", "netx has Delta neurons in the input "
                    "layer only")
    _sdnn_common(net, where, model)
    _at_defaults(net, where, model, ("vth", "cum_error", "spike_exp", "state_exp"))
    return {"type": "SDNN", "activation": "relu", "vThMant": _scalar(net, where, model, "vth")}, np.zeros(1)


def _sigma(net, where, model, is_input):
    _at_defaults(net, where, model, ())
    return {"type": "SDNN", "activation": "relu", "vThMant": 0, "sigma_output": True}, np.zeros(1)


#: neuron model class name -> writer (neuron group dict, per-neuron bias in IR order)
NEURONS = {"LoihiLIF": _cuba, "SigmaDelta": _sigma_delta, "Delta": _delta, "Sigma": _sigma}


def _neuron(net, pop, is_input=False):
    kind = type(pop.model).__name__
    where = f"population '{pop.name}'"
    if kind not in NEURONS:
        raise _fail(net, where, f"neuron model {kind} has no netx neuron type",
                    f"netx export writes {', '.join(NEURONS)}")
    return NEURONS[kind](net, where, pop.model, is_input)


def _bias(bias, shape):
    """IR bias (scalar or C-order per neuron) as netx stores it: one per channel where it is, else Lava's
    (W, H, C) per neuron (the reader's broadcasting rules)."""
    n = int(np.prod(shape))
    b = np.broadcast_to(np.asarray(bias, np.int64).reshape(-1), (n,)) if np.size(bias) in (1, n) else None
    if len(shape) == 1:
        return b.astype(np.float32)
    per = b.reshape(shape)
    if np.all(per == per[:, :1, :1]):
        return per[:, 0, 0].astype(np.float32)
    return per.transpose(2, 1, 0).astype(np.float32)


# ------------------------------------------------------------------------------------- synapses
def _same_products(w1, e1, w2, e2) -> bool:
    m = min(e1, e2)
    return np.array_equal(np.asarray(w1, np.int64) << (e1 - m), np.asarray(w2, np.int64) << (e2 - m))


def _dense_weights(net, where, conns):
    """The integer matrix netx's dense layer stores for IR Dense ``conns`` (side by side: one exponent)."""
    effs, exps = [], []
    for c in conns:
        effs.append(effective_weights(c.weights, c.effective_sign_mode(), c.num_weight_bits))
        exps.append(int(c.weight_exp))
    e = min(exps)
    if e < 0:
        full = np.hstack([eff << (x - e) for eff, x in zip(effs, exps)])
        if np.any(full % (1 << -e)):
            raise _fail(net, where, f"weights x 2**{e} are not integers", "netx stores integer weights; quantize so "
                        "that w * 2**weight_exp is an integer")
        w, e_w = full >> -e, 0
    else:
        w, e_w = np.hstack([eff << x for eff, x in zip(effs, exps)]), 0
    w2, nwb, exp = netx_weight_bits(w)
    try:
        nwb, exp = _dense_options(w2, nwb, exp, where, Path(net.name))
    except NeurocompError:          # no 1..8-bit setting means what netx would run: refused below
        nwb = None
    back = None if nwb is None else effective_weights(w2, determine_sign_mode(w2), nwb)
    if back is None or not _same_products(back, exp, w, e_w):
        raise _fail(net, where, f"netx's weight optimisation of the weights in [{int(w.min())}, {int(w.max())}] "
                    "does not give back the same products", "use 8-bit weights (as SLAYER exports them)")
    return w


def _conv_layer(net, where, conn, delay):
    if np.any(np.asarray(delay) != 0):
        raise _fail(net, where, "a delayed Conv2d", "netx ignores conv delays; remove the delay")
    if conn.weight_exp not in (0, -1) or conn.num_weight_bits != 8 or conn.sign_mode is not None:
        raise _fail(net, where, f"Conv2d with weight_exp {conn.weight_exp}, num_weight_bits {conn.num_weight_bits}, "
                    f"sign_mode {conn.sign_mode}", "netx's conv takes raw weights: weight_exp 0, 8 bits, no sign mode")
    w = np.asarray(conn.weights, np.int64)
    if conn.weight_exp == -1:
        if np.any(w % 2):
            raise _fail(net, where, "odd weights with weight_exp -1", "netx's conv has no exponent")
        w = w // 2
    raw, exp = _conv_weights(w, where, Path(net.name))
    if exp != conn.weight_exp or not np.array_equal(raw, conn.weights):
        raise _fail(net, where, "these conv weights read back differently", "quantize them to 8 bits")
    c_out, c_in_g, kh, kw = w.shape
    return {"type": "conv", "weight": w.astype(np.float32), "stride": np.array(conn.stride),
            "padding": np.array(conn.padding), "dilation": np.array(conn.dilation), "groups": np.int64(conn.groups),
            "inChannels": np.int64(c_in_g * conn.groups), "outChannels": np.int64(c_out),
            "kernelSize": np.array([kh, kw])}


def _dense_layer(net, where, conn, delay, rec=None):
    conns = [conn] if rec is None else [conn, rec.connectivity]
    w = _dense_weights(net, where, conns)
    n_post, n_pre = conn.shape
    out = {"type": "dense" if rec is None else "dense_rec", "weight": w[:, :n_pre].astype(np.float32),
           "inFeatures": np.int64(n_pre), "outFeatures": np.int64(n_post)}
    d = np.asarray(delay)
    if rec is not None:
        out["weight_rec"] = w[:, n_pre:].astype(np.float32)
        if np.any(d != 0) or np.any(np.asarray(rec.delay) != 0):
            raise _fail(net, where, "a dense_rec layer with delays", "netx builds a delayed dense_rec without its "
                        "weight exponent; export it without delays")
    if np.any(d != 0):
        if d.max() > 62:
            raise _fail(net, where, f"delay {int(d.max())} > 62", "netx clips delays to 62 steps")
        out["delay"] = d.astype(np.float32) if d.ndim else np.float32(d)
    return out


#: connectivity class name -> layer writer
LAYERS = {"Conv2d": _conv_layer, "Dense": _dense_layer}


# ------------------------------------------------------------------------------------- the chain
def _chain(net: Network):
    """(graph input, input population or None, [(population, projection in, self-projection or None)])."""
    if len(net.inputs) != 1:
        raise _fail(net, "inputs", f"{len(net.inputs)} graph inputs", "netx networks have one input layer")
    inp = net.inputs[0]
    out_of = {}
    into = {}
    rec = {}
    for p in net.projections.values():
        if p.source == p.target:
            if p.target in rec:
                raise _fail(net, f"population '{p.target}'", "two self-projections", "merge them into one Dense")
            rec[p.target] = p
            continue
        out_of.setdefault(p.source, []).append(p)
        into.setdefault(p.target, []).append(p)
    chain, cur, in_pop = [], inp, None
    first = out_of.get(inp, [])
    if len(first) == 1 and type(first[0].connectivity).__name__ == "OneToOne":
        w = np.asarray(first[0].connectivity.weights)
        if np.all(w == 1) and first[0].max_delay == 0 and first[0].target not in rec:
            in_pop, cur = first[0].target, first[0].target
    while True:
        nxt = out_of.get(cur, [])
        if not nxt:
            break
        if len(nxt) > 1:
            raise _fail(net, f"'{cur}'", f"feeds {len(nxt)} projections ({', '.join(p.name for p in nxt)})",
                        "netx export writes a chain of layers; branches (concat) are not written")
        p = nxt[0]
        if len(into[p.target]) > 1:
            raise _fail(net, f"population '{p.target}'", f"receives {len(into[p.target])} projections",
                        "netx export writes a chain of layers (one input each)")
        if p.port != 0:
            raise _fail(net, f"projection '{p.name}'", f"feeds port {p.port}", "only port 0 (a_in) is written")
        chain.append((p.target, p, rec.pop(p.target, None)))
        cur = p.target
    seen = {t for t, _, _ in chain} | ({in_pop} if in_pop else set())
    missing = [p.name for p in net.neuron_populations if p.name not in seen]
    if missing or rec:
        raise _fail(net, f"populations {missing or list(rec)}", "are not on the input's chain",
                    "netx export writes one chain from the input to the output")
    if not chain:
        raise _fail(net, "network", "has no layer after the input", "add a population")
    return inp, in_pop, chain


def _input_layer(net, inp, in_pop, first_proj):
    pop = net.populations[inp]
    layer = {"type": "input", "shape": np.array(pop.shape, np.int64)}
    meta = (net.metadata.get("netx") or {}).get("input") or {}
    tr = meta.get("transform")
    if tr:
        layer["weight"], layer["bias"] = np.float32(tr["weight"]), np.float32(tr["bias"])
    enc = meta.get("encoder")
    if in_pop is not None:
        neuron, _ = _neuron(net, net.populations[in_pop], is_input=True)
        layer["neuron"] = neuron
    elif enc:
        if enc.get("model") != "Delta" or enc.get("cum_error") or enc.get("spike_exp") != SPIKE_EXP \
                or enc.get("state_exp") != STATE_EXP:
            raise _fail(net, "metadata['netx']['input']['encoder']", f"{enc}",
                        f"netx's input Delta has cum_error false, spike_exp {SPIKE_EXP}, state_exp {STATE_EXP}")
        bits = first_proj.connectivity.num_message_bits
        layer["neuron"] = {"type": "SDNN", "activation": "relu", "vThMant": int(enc["vth"]),
                           "messageBits": int(bits if bits else enc.get("message_bits", 16))}
    elif first_proj.connectivity.num_message_bits:
        raise _fail(net, f"projection '{first_proj.name}'", "carries graded input without an encoder",
                    "netx feeds graded input through an SDNN input layer: read the file with sdnn_input='host'")
    return layer


def netx_layers(net: Network) -> list[dict]:
    """The layers of the netx file for ``net`` (``{"type": ..., datasets..., "neuron": {...}}``, in order)."""
    inp, in_pop, chain = _chain(net)
    layers = [_input_layer(net, inp, in_pop, chain[0][1])]
    prev_shape = net.populations[in_pop or inp].shape
    for name, proj, rec in chain:
        pop = net.populations[name]
        kind = type(proj.connectivity).__name__
        where = f"projection '{proj.name}'"
        if kind not in LAYERS:
            raise _fail(net, where, f"is {kind}", f"netx layers are {' and '.join(LAYERS)} (conv and dense)")
        if kind == "Dense" and len(prev_shape) > 1:
            layers.append({"type": "flatten", "shape": np.array([int(np.prod(prev_shape)), 1, 1], np.int64)})
        if rec is not None and kind != "Dense":
            raise _fail(net, f"population '{name}'", "a self-projection on a conv layer", "netx has dense_rec only")
        layer = LAYERS[kind](net, where, proj.connectivity, proj.delay, *((rec,) if rec is not None else ()))
        if kind == "Conv2d" and tuple(proj.connectivity.output_shape) != tuple(pop.shape):
            raise _fail(net, f"population '{name}'",
                        f"shape {pop.shape} is not the conv's {proj.connectivity.output_shape}",
                        "give the population the convolution's (C, H, W) output shape")
        neuron, bias = _neuron(net, pop)
        layer["shape"] = np.array(pop.shape, np.int64)
        layer["neuron"] = neuron
        if np.any(bias != 0):
            layer["bias"] = _bias(bias, pop.shape)
        layers.append(layer)
        prev_shape = pop.shape
    return layers


def write_netx(net: Network, path) -> Path:
    """Write ``net`` as a netx HDF5 file (atomically); raises ValidationError for what netx cannot express."""
    import h5py
    if not isinstance(net, Network):
        raise ValidationError(f"write_netx: expected a neurocomp Network, got {type(net).__name__}")
    layers = netx_layers(net)
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for i, layer in enumerate(layers):
                g = f.create_group(f"layer/{i}")
                g.create_dataset("type", data=np.array([layer["type"].encode()], dtype="S10"))
                for key, val in layer.items():
                    if key == "type":
                        continue
                    if key == "neuron":
                        ng = g.create_group("neuron")
                        for nk, nv in val.items():
                            ng.create_dataset(nk, data=nv.encode() if isinstance(nv, str) else nv)
                    else:
                        g.create_dataset(key, data=val)
            sim = (net.metadata.get("netx") or {}).get("simulation") or {}
            if sim:
                s = f.create_group("simulation")
                for key, val in sim.items():
                    s.create_dataset(key, data=val)
    return path
