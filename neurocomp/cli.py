"""The ``neurocomp`` command line: info, targets, compile, emulate, deploy, report, export, shard.

Each command is a thin wrapper around the Python API (DESIGN.md §9); the heavy modules are
imported inside the command so ``neurocomp --help`` stays fast. Error policy (§10): any
``NeurocompError`` and any OS error on a user's path prints ``error: <message>`` on stderr and
exits 2, never a traceback; ``NeurocompWarning`` prints ``warning: <message>``; anything else is
a bug in neurocomp: ``internal error: ...`` and exit 1.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from .errors import NeurocompError, NeurocompWarning, ValidationError

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2


# ---------------------------------------------------------------------------------------- inputs
def load_inputs(path, expected=None) -> dict[str, np.ndarray]:
    """Read spike inputs from ``path`` (.npz): one key per graph input, an array ``[T, *shape]`` of 0/1.

    The file is read here; the arrays are checked by :mod:`neurocomp.semantics.inputs`, the checks every
    backend runs (messages start with the file's path). ``expected``, when known: the network's
    :class:`~neurocomp.semantics.inputs.InputSpec` (a learning rule's reward input then takes ints
    0..127, ``[T]``, ``[T, 1]`` or ``[T, n_post]``) or ``{input name: shape}``; no key may be missing or
    unknown and every shape must match. All arrays must share the same T. Spikes are returned as uint8,
    rewards and graded inputs' payloads as int64, in the file's shapes.
    """
    from .safeio import read_npz, regular_file
    path = Path(path)
    regular_file(path, "input file", fix="give an .npz with one [T, *shape] array per graph input")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        raise ValidationError(f"{path}: is a single .npy array; give an .npz with one key per graph input "
                              "(numpy.savez(path, **{input name: spikes [T, *shape]}); `neurocomp info` lists the "
                              "graph inputs)")
    arrays = read_npz(path)    # each header checked: a damaged zip or an absurd declared size stops here
    if not arrays:
        raise ValidationError(f"{path}: contains no arrays; give one [T, *shape] array per graph input")
    from .semantics.inputs import InputSpec, check_input_rows, check_spike_input
    spec = expected
    if isinstance(expected, dict):
        spec = InputSpec("the network", tuple(expected), {name: tuple(shape) for name, shape in expected.items()})
    if spec is not None:
        check_input_rows(spec, None, arrays, where=f"{path}: ")
    else:
        for key, arr in arrays.items():
            try:
                check_spike_input(arr, key, None)
            except ValidationError as exc:
                raise ValidationError(f"{path}: {exc}") from None
    steps = None
    for key, arr in arrays.items():
        if np.ndim(arr) and steps is None:
            steps = arr.shape[0]
        elif np.ndim(arr) and arr.shape[0] != steps:
            raise ValidationError(f"{path}: input '{key}' has {arr.shape[0]} steps but another input has "
                                  f"{steps}; all inputs need the same T")
    ints = set(spec.rewards) | set(spec.graded) if spec is not None else set()   # rewards, graded payloads
    return {key: arr.astype(np.int64 if key in ints else np.uint8) for key, arr in arrays.items()}


# ---------------------------------------------------------------------------------------- commands
def _with_rules(net, rules_file):
    """The network with the learning rules of ``--rules FILE`` attached (NIR files carry none)."""
    if rules_file is None:
        return net
    from .rules.sidefile import attach_rules
    return attach_rules(net, rules_file)


def _cmd_info(args) -> int:
    from .info import describe, summary_dict
    from .io import load
    net = _with_rules(load(args.net, dt=args.dt, dialect=args.dialect), args.rules)
    if args.json:
        print(json.dumps(summary_dict(net), indent=2, default=str))
    else:
        print(describe(net))
    return EXIT_OK


#: export format -> (writer module, function): ``neurocomp export --format F``
EXPORT_FORMATS = {"netx": ("neurocomp.io.netx_export", "write_netx")}


def _cmd_export(args) -> int:
    import importlib
    from .errors import ValidationError
    from .io import load
    out = Path(args.output)
    if out.is_dir() or (out.exists() and out.resolve() == Path(args.net).resolve()):
        raise ValidationError(f"export: output '{out}' is a directory or the input file itself; name a new file "
                              "(e.g. network_export.net)")
    net = load(args.net, dt=args.dt, dialect=args.dialect)
    module, func = EXPORT_FORMATS[args.format]
    getattr(importlib.import_module(module), func)(net, out)
    print(f"wrote {out} ({args.format})")
    return EXIT_OK


def _cmd_targets(args) -> int:
    try:
        from .target import list_targets
    except ModuleNotFoundError as exc:
        if exc.name != "neurocomp.target":
            raise
        print("no hardware models found")
        return EXIT_OK
    targets = list(list_targets())
    if not targets:
        print("no hardware models found")
        return EXIT_OK
    header = ("name", "cores", "neurons/core", "axons/core", "syn mem/core (KiB)", "description")
    rows = [(t.name, str(t.mesh.n_cores), str(t.core.max_neurons), str(t.core.max_input_axons),
             f"{t.core.synapse_memory_bits / 8192:g}", str(t.description)) for t in targets]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return EXIT_OK


def _cmd_compile(args) -> int:
    from .io import load
    from .passes.base import format_pipeline
    from .target import load_target
    pipeline = _pipeline(args)
    if args.print_pipeline:
        print(format_pipeline(pipeline))
        return EXIT_OK
    if args.output is None:
        raise ValidationError("compile: give the artifact directory to write with -o/--output ART")
    target = load_target(args.target)  # an unknown target fails before the (possibly slow) network load
    net = _with_rules(load(args.net, dt=args.dt, dialect=args.dialect), args.rules)
    from .compiler import compile as compile_network
    compiled = compile_network(net, target, dt=args.dt, partitioner=args.partitioner,
                               max_neurons_per_core=args.max_neurons_per_core, seed=args.seed,
                               out=args.output, progress=True, pipeline=pipeline if args.passes else None,
                               integration=args.integration,
                               print_ir_after=args.print_ir_after, ir_stream=sys.stdout)
    print(compiled.summary())
    return EXIT_OK


def _pipeline(args):
    """The pass list of ``compile``: the default one, or ``--passes a,b,c`` built from the same options."""
    from .compiler import default_pipeline
    from .passes.base import make_pass
    options = dict(dt=args.dt, partitioner=args.partitioner, max_neurons_per_core=args.max_neurons_per_core,
                   seed=args.seed, integration=args.integration or "euler")
    if args.passes is None:
        return default_pipeline(**options)
    return [make_pass(name.strip(), **options) for name in args.passes.split(",") if name.strip()]


def _record(text: str) -> tuple[str, ...]:
    from .semantics.inputs import recordable
    known = recordable()
    items = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in items if s not in known]
    if bad or not items:
        raise ValidationError(f"--record {text!r}: choose from {', '.join(known)} (comma separated)")
    return items


def _summarise_result(result, out) -> None:
    """Steps, spikes per population, and the report's plain numbers (one level of nesting, e.g.
    ``energy.total_j``); the full report is in ``out/report.json``."""
    print(f"{result.steps} steps; result written to {out}")
    for name, arr in result.spikes.items():
        print(f"  spikes {name}: {int(np.asarray(arr).sum())}")
    for key, value in sorted(result.report.items()):
        items = value.items() if isinstance(value, dict) else [("", value)]
        for sub, v in items:
            if isinstance(v, (int, float, str)) and not isinstance(v, bool) and len(str(v)) <= 80:
                print(f"  {key}{'.' + sub if sub else ''}: {v}")


def _artifact_network(art):
    """The network of a compiled artifact (its ``network.h5``, see artifact.py), or None when it cannot be
    read here (the backend then reports what is wrong with the artifact)."""
    from .io.native import load_native
    path = Path(art) / "network.h5"
    if not path.is_file():
        return None
    try:
        return load_native(path)
    except NeurocompError:
        return None


def _inputs_for(args) -> dict[str, np.ndarray] | None:
    """The --input arrays, or None (every graph input silent) when no file is given. A bad file of a network
    read from lava-dl netx gets the way to make one from lava-dl's (W, H, C, T) frames."""
    if not args.input:
        return None
    from .semantics.inputs import InputSpec
    net = _artifact_network(args.artifact)
    try:
        spec = InputSpec.of_network(net) if net is not None else None
    except NeurocompError:
        spec = None
    try:
        return load_inputs(args.input, expected=spec)
    except ValidationError as exc:
        if net is None or (net.metadata or {}).get("format") != "netx":
            raise
        raise ValidationError(f"{exc}. This artifact was compiled from the lava-dl netx file "
                              f"'{net.metadata.get('source', 'network.net')}': make the input file from Lava-ordered "
                              "(W, H, C, T) frames (lava-dl's input.npy) with `python -m neurocomp.io.netx_input "
                              "NETWORK.net FRAMES.npy --steps N -o in.npz`") from None


def _run_backend(args, backend: str, **options) -> int:
    """``emulate`` and ``deploy``: the --input file, then ``get_backend(backend).run(...)``, then the result."""
    record = _record(args.record)
    inputs = _inputs_for(args)
    from .backend import get_backend
    run = get_backend(backend).run
    if args.align_input:
        from .align import run_aligned
        from .io.native import load_native
        net = load_native(Path(args.artifact) / "network.h5")
        result = run_aligned(lambda n, x, **kw: run(args.artifact, steps=n, inputs=x, **kw), net, args.steps, inputs,
                             record=record, **options)
    else:
        result = run(args.artifact, steps=args.steps, inputs=inputs, record=record, **options)
    result.save(args.output)
    _summarise_result(result, args.output)
    return EXIT_OK


def _cmd_emulate(args) -> int:
    from .backends.emulator import distributed as D
    if D.launched_size() > 1 or D.is_shard_dir(args.artifact):
        return _run_ranks(args, D)
    # --timing analytic is the emulator's default: pass the option only when it asks for more
    extra = {"timing": args.timing} if args.timing != "analytic" else {}
    from .backends.emulator.engine import kernel_threads
    with kernel_threads(args.threads):
        if args.checkpoint is None and args.resume is None:
            return _run_backend(args, "emulator", progress=True, **extra)
        return _run_session(args, **extra)


def _run_ranks(args, D) -> int:
    """``mpiexec -n N neurocomp emulate ART|SHARDS``: one rank of a distributed run (docs/mpi.md); rank 0
    writes the result."""
    comm = D.world()
    if comm is None:
        meta = D.read_meta(args.artifact)
        raise ValidationError(f"{args.artifact}: rank shards for {meta['ranks']} ranks; run them with "
                              f"mpiexec -n {meta['ranks']} neurocomp emulate {args.artifact} ...")
    unsupported = [flag for flag, on in (("--resume", args.resume), ("--checkpoint", args.checkpoint),
                                         ("--align-input", args.align_input)) if on]
    if unsupported:
        raise ValidationError(f"{', '.join(unsupported)}: not available in a distributed run (mpiexec); run on one "
                              "process for them")
    inputs = _inputs_for(args)
    result = D.emulate_ranks(args.artifact, args.steps, inputs, _record(args.record), comm=comm, timing=args.timing)
    if result is not None:
        result.save(args.output)
        _summarise_result(result, args.output)
    return EXIT_OK


def _cmd_shard(args) -> int:
    from .backends.emulator.distributed import shard_artifact
    out = shard_artifact(args.artifact, args.ranks, args.output)
    print(f"wrote {args.ranks} rank shards of {args.artifact} to {out}; run them with "
          f"mpiexec -n {args.ranks} neurocomp emulate {out} --steps N -o RES")
    return EXIT_OK


def _run_session(args, **options) -> int:
    """``emulate --resume/--checkpoint``: continue a saved simulation (``nc.Simulator``) for --steps more
    steps (the --input rows drive steps t+1..t+N), then save its state."""
    from .simulator import Simulator
    record = _record(args.record)
    inputs = _inputs_for(args)
    if args.resume is not None:
        sim = Simulator.load(args.resume, args.artifact, "emulator", progress=True, **options)
    else:
        sim = Simulator(args.artifact, "emulator", progress=True, **options)
    with sim:
        t0 = sim.t
        result = sim.run(args.steps, inputs, record)
        if args.checkpoint is not None:
            sim.save(args.checkpoint)
    result.save(args.output)
    _summarise_result(result, args.output)
    print(f"  steps {t0 + 1}..{sim.t} of the simulation" + (f"; checkpoint written to {args.checkpoint}"
                                                           if args.checkpoint else ""))
    return EXIT_OK


def _cmd_deploy(args) -> int:
    return _run_backend(args, args.backend)


def _cmd_report(args) -> int:
    from .report import make_report
    out_dir = args.output if args.output is not None else Path(args.result)
    print(make_report(args.result, out_dir))
    return EXIT_OK


# ---------------------------------------------------------------------------------------- paths
#: inputs of emulate/deploy that an output must not touch: role -> argument name
RUN_INPUTS = {"artifact": "artifact", "input file": "input"}


def check_paths(args) -> None:
    """The output-path policy (neurocomp.outpaths) for a command that declares ``output_kind`` and its
    ``input_roles`` ({role: argument name}) with ``set_defaults``; runs before the command does anything."""
    kind = getattr(args, "output_kind", None)
    if kind is None:
        return
    from .outpaths import check_output
    inputs = {role: getattr(args, name, None) for role, name in getattr(args, "input_roles", {}).items()}
    out = args.output
    if kind == "report":
        out = out if out is not None else args.result
        check_output(out, inputs, kind, allow_same=("result",))
    elif out is not None:
        check_output(out, inputs, kind)


# ---------------------------------------------------------------------------------------- parser
def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def seed_int(text: str) -> int:
    """argparse type: a seed numpy's generators take, 0..2**32-1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..{2 ** 32 - 1}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0 (seconds)")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with the project's error format: ``error: ...`` and exit 2 (argparse's own code)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER, f"error: {self.prog}: {message}\n")


def _add_run_arguments(s, backends=None) -> None:
    """The arguments ``emulate`` and ``deploy`` share (``deploy`` also names its ``--backend``)."""
    s.add_argument("artifact", metavar="ART", help="compiled artifact directory")
    if backends is not None:
        s.add_argument("--backend", required=True, choices=backends, help="registered backend to run on")
    s.add_argument("--steps", required=True, type=positive_int, metavar="N", help="number of time steps")
    s.add_argument("--input", metavar="IN.npz",
                   help="input spikes: one [T, *shape] 0/1 array per graph input (integer payloads for a graded input; "
                        "a lava-dl netx network's: `python -m neurocomp.io.netx_input NET.net FRAMES.npy --steps N "
                        "-o IN.npz`)")
    s.add_argument("-o", "--output", required=True, metavar="RES", help="result directory to write")
    s.add_argument("--record", default="spikes,v", help="what to record: spikes,v,u,weights (default spikes,v)")
    s.add_argument("--align-input", action="store_true",
                   help="run N + D steps with the inputs padded by D zero rows (D: the deepest latency offset) and "
                        "return each population's rows on the framework's time axis (docs/frameworks.md)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .backend import backend_names
    p = _Parser(prog="neurocomp", description="Compile spiking networks (NIR, lava-dl netx .net or native .h5) to neuromorphic "
                "cores, then emulate them or deploy them to Lava.")
    p.add_argument("--version", action="version", version=f"neurocomp {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    dt_help = "time step in seconds for continuous-time (NIR) networks (default 1e-4)"
    from .io.nir_dialects import DIALECTS
    dialects = ("auto", "nir", *DIALECTS)
    from_help = ("NIR file exported by this framework: undo its exporter's deviations from NIR (auto: the one the "
                 "file's metadata names, else plain NIR; docs/frameworks.md)")

    s = sub.add_parser("info", help="summarise a network file", description="Print the populations, projections, "
                       "inputs, outputs and totals of a network file (.nir, netx .net or native .h5).")
    s.add_argument("net", metavar="NET", help="network file (.nir, .net, .h5)")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.add_argument("--dt", type=_positive_float, default=1e-4, help=dt_help)
    s.add_argument("--from", dest="dialect", choices=dialects, default="auto", help=from_help)
    s.add_argument("--rules", metavar="RULES.toml", default=None,
                   help="attach learning rules from a side file (see neurocomp.rules.sidefile)")
    s.set_defaults(func=_cmd_info)

    s = sub.add_parser("export", help="write a network in another format", description="Write network file NET "
                       "as FORMAT: netx = a lava-dl netx HDF5 (.net) that netx and `neurocomp` load back to the same "
                       "network (chains of conv/dense layers of CUBA or SDNN neurons; anything else is refused "
                       "with the reason; docs/sdnn.md).")
    s.add_argument("net", metavar="NET", help="network file (.nir, .net, .h5)")
    s.add_argument("--format", required=True, choices=tuple(EXPORT_FORMATS), help="output format")
    s.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write (replaced atomically)")
    s.add_argument("--dt", type=_positive_float, default=1e-4, help=dt_help)
    s.add_argument("--from", dest="dialect", choices=dialects, default="auto", help=from_help)
    s.set_defaults(func=_cmd_export)

    s = sub.add_parser("targets", help="list the hardware models", description="List the hardware models "
                       "(targets) this installation knows, with their main per-core limits.")
    s.set_defaults(func=_cmd_targets)

    s = sub.add_parser("compile", help="map a network onto a target", description="Discretize, quantize, "
                       "partition, place and route NET for target T; write the compiled artifact directory ART.")
    s.add_argument("net", metavar="NET", help="network file (.nir, .net, .h5)")
    s.add_argument("--target", required=True, metavar="T", help="hardware model name (see `neurocomp targets`)")
    s.add_argument("-o", "--output", metavar="ART", help="artifact directory to write (required unless "
                   "--print-pipeline)")
    s.add_argument("--dt", type=_positive_float, default=1e-4, help=dt_help)
    s.add_argument("--from", dest="dialect", choices=dialects, default="auto", help=from_help)
    s.add_argument("--integration", choices=("euler", "exact"), default=None,
                   help="time integration of LIF/CubaLIF/LI: euler (NIR's forward Euler) or exact (exp(-dt/tau) "
                        "decays); default: what the --from dialect needs, else euler")
    s.add_argument("--partitioner", choices=("hypergraph", "sequential", "metis"), default="hypergraph",
                   help="how populations are split over cores (default: hypergraph)")
    s.add_argument("--max-neurons-per-core", type=positive_int, default=None, metavar="N",
                   help="cap neurons per core below the target's limit")
    s.add_argument("--seed", type=seed_int, default=0, metavar="S", help="seed of the partitioner, 0..2^32-1 "
                   "(default 0)")
    s.add_argument("--rules", metavar="RULES.toml", default=None,
                   help="attach learning rules from a side file (see neurocomp.rules.sidefile)")
    s.add_argument("--print-pipeline", action="store_true",
                   help="print the passes (with their options) that would run, and stop")
    s.add_argument("--print-ir-after", action="append", default=[], metavar="PASS",
                   help="print the stage after PASS as text (repeatable; 'all' for every pass)")
    s.add_argument("--passes", default=None, metavar="P1,P2,...",
                   help="run these registered passes in this order instead of the default pipeline "
                        "(discretize,quantize,partition,place,route,tables); options above apply to each")
    s.set_defaults(func=_cmd_compile, output_kind="artifact",
                   input_roles={"network file": "net", "hardware model (--target)": "target", "rules file": "rules"})

    s = sub.add_parser("emulate", help="run an artifact on the multicore emulator", description="Run the "
                       "compiled artifact ART on the emulator for N steps; write spikes, probes, energy and "
                       "latency to RES.")
    _add_run_arguments(s)
    s.add_argument("--resume", metavar="CKPT.npz", default=None,
                   help="continue the simulation saved in CKPT.npz (made of ART) for N more steps")
    s.add_argument("--checkpoint", metavar="CKPT.npz", default=None,
                   help="after the run, save the simulation's whole state to CKPT.npz (for --resume)")
    s.add_argument("--timing", choices=("analytic", "cycle"), default="analytic",
                   help="latency model: analytic (default; per-step sum of the slowest core, network drain and "
                        "barrier) or cycle (message-level simulation of routers, buffers, links and core pipelines)")
    s.add_argument("--threads", type=positive_int, default=None, metavar="K",
                   help="threads the emulator's kernel runs the cores of a step on (default: all cores, or "
                        "NUMBA_NUM_THREADS); the results are the same for any K")
    s.set_defaults(func=_cmd_emulate, output_kind="result",
                   input_roles={**RUN_INPUTS, "checkpoint (--resume)": "resume"})

    s = sub.add_parser("shard", help="cut an artifact into rank shards (MPI)", description="Cut the compiled "
                       "artifact ART into N rank shards, each rank's cores in placement order with only its own "
                       "tables, for `mpiexec -n N neurocomp emulate DIR` (docs/mpi.md).")
    s.add_argument("artifact", metavar="ART", help="compiled artifact directory")
    s.add_argument("--ranks", required=True, type=positive_int, metavar="N", help="number of MPI ranks")
    s.add_argument("-o", "--output", required=True, metavar="DIR", help="shard directory to write")
    s.set_defaults(func=_cmd_shard, output_kind="shards", input_roles={"artifact": "artifact"})

    s = sub.add_parser("deploy", help="run an artifact on a backend (Lava)", description="Run the compiled "
                       "artifact ART on a registered backend for N steps (lava: lower it to Lava processes and run "
                       "Lava's fixed-point CPU simulation; emulator: as `neurocomp emulate`); write the result to RES.")
    _add_run_arguments(s, backends=backend_names())
    s.set_defaults(func=_cmd_deploy, output_kind="result", input_roles=RUN_INPUTS)

    s = sub.add_parser("report", help="summarise a result (JSON + plots)", description="Write report.json and "
                       "plots (raster, mesh utilisation, link load, energy breakdown) for result RES.")
    s.add_argument("result", metavar="RES", help="result directory (from emulate or deploy)")
    s.add_argument("-o", "--output", metavar="DIR", default=None, help="where to write the report (default: RES)")
    s.set_defaults(func=_cmd_report, output_kind="report", input_roles={"result": "result"})
    return p


# ---------------------------------------------------------------------------------------- main
def _break_line() -> None:
    """End an open progress line so the next message starts on its own line."""
    from .passes.base import break_progress_line
    break_progress_line()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    stream = sys.stderr if file is None else file
    _break_line()
    if issubclass(category, NeurocompWarning):
        stream.write(f"warning: {message}\n")
    else:
        stream.write(warnings.formatwarning(message, category, filename, lineno, line))


def main(argv=None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input, 1 internal error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse already printed
        return int(exc.code or 0)
    with warnings.catch_warnings():
        warnings.simplefilter("always", NeurocompWarning)
        warnings.showwarning = _show_warning
        try:
            check_paths(args)
            return args.func(args)
        except NeurocompError as exc:
            _break_line()
            print(f"error: {exc}", file=sys.stderr)
        except BrokenPipeError:  # the reader went away (e.g. `neurocomp info x.nir | head`): stop quietly
            import os
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        except OSError as exc:  # missing/unreadable/unwritable user paths
            _break_line()
            print(f"error: {_os_message(exc)}", file=sys.stderr)
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:  # a bug in neurocomp, not in the user's input
            _break_line()
            print(f"internal error: {type(exc).__name__}: {exc}\n"
                  "This is a bug in neurocomp; please report it with the command you ran "
                  "(set NEUROCOMP_TRACEBACK=1 to see the traceback).", file=sys.stderr)
            if _want_traceback():
                import traceback
                traceback.print_exc()
            return EXIT_INTERNAL
    return EXIT_USER


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _want_traceback() -> bool:
    import os
    return os.environ.get("NEUROCOMP_TRACEBACK", "") not in ("", "0")


if __name__ == "__main__":
    sys.exit(main())
