"""The ``report`` command: pictures and a short text summary of a result directory.

Reads ``RES/result.npz`` + ``RES/report.json`` (:class:`neurocomp.result.Result`) and writes PNGs:

* ``raster.png``   spike raster of every recorded population, one colour per population;
* ``mesh.png``     per-core dynamic energy and busy time laid out on the mesh (tiles x cores);
* ``links.png``    per-router outgoing link load, with an arrow per loaded link on small meshes;
* ``energy.png``   energy by operation class;
* ``timeline.png`` energy and latency per step;
* ``step_timeline.png`` (``emulate --timing cycle`` only) which core unit and link is busy when, in the
  slowest step of the message-level timing model (``report["cost"]["cycle"]["timeline"]``).

The cost figures come from the cost model's dict (``backends/emulator/costmodel.estimate``), found in
``report.json`` at ``report["cost"]`` (or ``"estimate"``, or at top level). A result without one
(Lava's CPU simulation measures no energy or latency) gets the raster only and a line saying so.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

from .atomic import atomic_file
from .errors import ArtifactError
from .safeio import reading
from .result import Result

#: Energy classes in the cost model's order (``backends/emulator/costmodel.OP_CLASSES``).
OP_CLASSES = ("syn_op", "neuron_active", "neuron_idle", "spike_out", "messages", "learning", "static")

#: Keys of ``report.json`` under which the cost model's dict may live (first match wins).
COST_KEYS = ("cost", "estimate", "costmodel")
_MAX_RASTER_POINTS = 400_000


def find_estimate(report: dict) -> dict | None:
    """The cost model's dict inside a backend report, or None if the backend gave no energy/latency."""
    for key in COST_KEYS:
        sub = report.get(key)
        if isinstance(sub, dict) and isinstance(sub.get("energy_j"), dict):
            return sub
    if isinstance(report.get("energy_j"), dict):
        return report
    return None


def _eng(x: float, unit: str) -> str:
    """3 significant digits with an SI prefix: 1.23e-9 J -> '1.23 nJ'."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g} {unit}"
    exp = int(math.floor(math.log10(abs(x)) / 3)) * 3
    exp = max(-15, min(exp, 12))
    prefix = {-15: "f", -12: "p", -9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T"}[exp]
    return f"{x / 10 ** exp:.3g} {prefix}{unit}"


def markdown_table(headers, rows) -> str:
    """A GitHub markdown table; floats with 4 significant digits, anything else as ``str``."""
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
    lines = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path) -> None:
    """Render ``fig`` as PNG: into ``path`` (atomically), or into a dict ``{name: bytes}`` (make_report
    renders every plot first and writes only when all succeeded, so a damaged result leaves no PNG)."""
    if isinstance(path, _Pending):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        path.store(buf.getvalue())
        return
    with atomic_file(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")


class _Pending:
    """A PNG not yet written: where it goes and, once rendered, its bytes."""

    def __init__(self, path: Path):
        self.path, self.data = path, None

    def store(self, data: bytes) -> None:
        self.data = data


# ------------------------------------------------------------------------------- raster
def plot_raster(spikes: dict, path: Path, title: str = "") -> None:
    """One row per neuron, populations stacked in order and coloured; large rasters are thinned
    (every k-th spike, said in the title) so the PNG stays readable and small."""
    plt = pyplot()
    names = list(spikes)
    sizes = [int(np.asarray(spikes[n]).reshape(np.asarray(spikes[n]).shape[0], -1).shape[1]) for n in names]
    total = sum(int(np.count_nonzero(spikes[n])) for n in names)
    stride = max(1, math.ceil(total / _MAX_RASTER_POINTS))
    fig, ax = plt.subplots(figsize=(10, max(3.0, min(8.0, 2 + 0.4 * len(names)))))
    cmap = plt.get_cmap("tab10")
    offset = 0
    steps = 0
    for i, (name, n) in enumerate(zip(names, sizes)):
        arr = np.asarray(spikes[name])
        arr = arr.reshape(arr.shape[0], -1)
        steps = max(steps, arr.shape[0])
        t, j = np.nonzero(arr)
        t, j = t[::stride], j[::stride]
        ax.scatter(t, j + offset, s=2 if total < 20_000 else 0.5, marker="s", color=cmap(i % 10), linewidths=0,
                   label=f"{name} ({int(np.count_nonzero(arr))} spikes)", rasterized=True)
        if i:
            ax.axhline(offset - 0.5, color="0.8", lw=0.5)
        offset += n
    ax.set_xlim(-0.5, max(steps, 1) - 0.5)
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax.set_xlabel("time step")
    ax.set_ylabel("neuron (populations stacked)")
    ax.set_title((title or "spike raster") + (f"  [every {stride}th spike shown]" if stride > 1 else ""))
    if names:
        ax.legend(loc="upper right", fontsize=8, markerscale=4, framealpha=0.85)
    _save(fig, path)
    plt.close(fig)


# ------------------------------------------------------------------------------- mesh layout
def _core_positions(est: dict, report: dict):
    """(global tile x, global tile y, k) per logical core; from the estimate's ``cores`` or, failing that,
    ``report["mapping"]["cores"]`` coords (chip, tile_x, tile_y, k) with chips side by side in x."""
    cores = est.get("cores")
    if cores:
        return (np.array([c["tile"][0] for c in cores]), np.array([c["tile"][1] for c in cores]),
                np.array([c["k"] for c in cores]))
    mcores = (report.get("mapping") or {}).get("cores")
    if mcores:
        co = np.array([c["coord"] for c in mcores], np.int64).reshape(-1, 4)
        width = int(co[:, 1].max()) + 1
        return co[:, 0] * width + co[:, 1], co[:, 2], co[:, 3]
    return None


def _mesh_image(values, gx, gy, k):
    """Per-core values on a grid: each tile is a kx x ky block of its cores (k fills rows of the block)."""
    kmax = int(k.max()) + 1 if k.size else 1
    kx = int(math.ceil(math.sqrt(kmax)))
    ky = int(math.ceil(kmax / kx))
    W, H = int(gx.max()) + 1, int(gy.max()) + 1
    img = np.full((H * ky, W * kx), np.nan)
    img[gy * ky + k // kx, gx * kx + k % kx] = values
    return img, kx, ky, W, H


def plot_mesh(est: dict, report: dict, path: Path) -> bool:
    pos = _core_positions(est, report)
    e = np.asarray(est["energy_j"].get("per_core", []), float)
    busy = np.asarray(est["latency_s"].get("per_core_busy_total", []), float)
    if pos is None or e.size == 0:
        return False
    plt = pyplot()
    gx, gy, k = (np.asarray(a, np.int64) for a in pos)
    steps = max(int(est.get("steps", 1)), 1)
    panels = [("dynamic energy per core (total)", e, "J")]
    if busy.size == e.size:
        panels.append(("busy time per core (mean per step)", busy / steps, "s"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.2), squeeze=False)
    for ax, (title, vals, unit) in zip(axes[0], panels):
        img, kx, ky, W, H = _mesh_image(vals, gx, gy, k)
        ax.set_facecolor("0.9")
        im = ax.imshow(img, origin="lower", cmap="viridis", interpolation="nearest",
                       extent=(-0.5, W * kx - 0.5, -0.5, H * ky - 0.5))
        if W * H <= 1024:
            for x in range(W + 1):
                ax.axvline(x * kx - 0.5, color="w", lw=1.5)
            for y in range(H + 1):
                ax.axhline(y * ky - 0.5, color="w", lw=1.5)
        ax.set_xticks([x * kx + (kx - 1) / 2 for x in range(W)][:: max(1, W // 16)])
        ax.set_xticklabels([str(x) for x in range(W)][:: max(1, W // 16)])
        ax.set_yticks([y * ky + (ky - 1) / 2 for y in range(H)][:: max(1, H // 16)])
        ax.set_yticklabels([str(y) for y in range(H)][:: max(1, H // 16)])
        ax.set_xlabel("tile x")
        ax.set_ylabel("tile y")
        ax.set_title(f"{title}\n(each tile: {kx}x{ky} cores; grey = unused)", fontsize=9)
        cb = fig.colorbar(im, ax=ax, shrink=0.85)
        cb.set_label(unit)
    fig.suptitle(f"mesh utilisation — target {est.get('target', '?')}", fontsize=10)
    _save(fig, path)
    plt.close(fig)
    return True


#: At most this many link arrows (the busiest): matplotlib draws each in ~20 ms, a multi-chip mesh has hundreds.
MAX_ARROWS = 120


def plot_links(est: dict, path: Path) -> bool:
    """Heatmap of each router's outgoing load (sum over its 4 links) + arrows (width ~ load) on small meshes."""
    links = est.get("links") or {}
    cores = est.get("cores") or []
    plt = pyplot()
    xs = [c["tile"][0] for c in cores] + [v["to"][0] for v in links.values()] + [v["from"][0] for v in links.values()]
    ys = [c["tile"][1] for c in cores] + [v["to"][1] for v in links.values()] + [v["from"][1] for v in links.values()]
    if not xs:
        return False
    W, H = max(xs) + 1, max(ys) + 1
    grid = np.zeros((H, W))
    for v in links.values():
        grid[v["from"][1], v["from"][0]] += v["total"]
    fig, ax = plt.subplots(figsize=(max(6.5, min(12, 2.5 + 0.9 * W)), max(3.8, min(9, 2 + 0.9 * H))))
    im = ax.imshow(grid, origin="lower", cmap="magma", interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, shrink=0.85, pad=0.03)
    cb.set_label("packets out of router\n(all steps)", fontsize=8)
    top = max((v["total"] for v in links.values()), default=0)
    drawn = sorted(links.values(), key=lambda v: -v["total"])[:MAX_ARROWS] if W * H <= 400 else []
    if drawn:
        for v in drawn:
            (x0, y0), (x1, y1) = v["from"], v["to"]
            # Offset the two directions of a link so E/W (N/S) arrows do not overlap.
            off = 0.12 if v["dir"] in ("E", "N") else -0.12
            ox, oy = (0, off) if v["dir"] in ("E", "W") else (off, 0)
            ax.annotate("", xy=(x0 + 0.75 * (x1 - x0) + ox, y0 + 0.75 * (y1 - y0) + oy),
                        xytext=(x0 + 0.25 * (x1 - x0) + ox, y0 + 0.25 * (y1 - y0) + oy),
                        arrowprops=dict(arrowstyle="-|>", color="cyan", lw=0.5 + 3.5 * v["total"] / top,
                                        mutation_scale=8))
    hot = max(links.items(), key=lambda kv: kv[1]["total"], default=None)
    sub = (f"hottest link {hot[1]['from']}->{hot[1]['to']} ({hot[1]['dir']}): {hot[1]['total']} packets, "
           f"max {hot[1]['max_per_step']} in one step") if hot else "no inter-tile traffic"
    if 0 < len(drawn) < len(links):
        sub += f"; arrows: the {len(drawn)} busiest of {len(links)} links"
    ax.set_title(f"link load (X-then-Y routes)\n{sub}", fontsize=9)
    ax.set_xlabel("tile x")
    ax.set_ylabel("tile y")
    ax.set_xticks(range(0, W, max(1, W // 16)))
    ax.set_yticks(range(0, H, max(1, H // 16)))
    _save(fig, path)
    plt.close(fig)
    return True


def plot_energy(est: dict, path: Path) -> bool:
    by = est["energy_j"].get("by_class") or {}
    if not by:
        return False
    plt = pyplot()
    order = [c for c in OP_CLASSES if c in by] + sorted(c for c in by if c not in OP_CLASSES)
    names = order
    vals = np.array([by[n] for n in names], float)
    total = vals.sum()
    pos = vals[vals > 0]
    log = pos.size > 1 and pos.max() / pos.min() > 50     # small classes stay visible next to static power
    fig, ax = plt.subplots(figsize=(8, 4))
    colors = ["0.55" if n == "static" else plt.get_cmap("tab10")(i % 10) for i, n in enumerate(names)]
    shown = np.where(vals > 0, vals, np.nan) if log else vals
    bars = ax.bar(names, shown, color=colors)
    for b, v in zip(bars, vals):
        share = f"{100 * v / total:.1f}%" if total else ""
        y = v if v > 0 else (pos.min() if log and pos.size else 0)
        ax.annotate(f"{_eng(v, 'J')}\n{share}", (b.get_x() + b.get_width() / 2, y), ha="center", va="bottom",
                    fontsize=8)
    if log:
        ax.set_yscale("log")
        ax.set_ylim(pos.min() / 3, pos.max() * 8)
        ax.set_ylabel("energy (J, log scale)")
    else:
        ax.set_ylim(0, max(vals.max(), 1e-30) * 1.25)
        ax.set_ylabel("energy (J)")
    ax.set_title(f"energy by operation class — total {_eng(total, 'J')} over {est.get('steps', '?')} steps "
                 f"({est.get('target', '?')})", fontsize=10)
    ax.tick_params(axis="x", labelsize=9)
    _save(fig, path)
    plt.close(fig)
    return True


def plot_timeline(est: dict, path: Path) -> bool:
    ps = est.get("per_step") or {}
    e, lat = np.asarray(ps.get("energy_j", []), float), np.asarray(ps.get("latency_s", []), float)
    if e.size == 0:
        return False
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    a1.plot(e * 1e9, lw=0.8)
    a1.set_ylabel("energy / step (nJ)")
    a2.plot(lat * 1e6, lw=0.8, color="C1")
    a2.set_ylabel("latency / step (us)")
    a2.set_xlabel("time step")
    a1.set_title("per-step energy and latency", fontsize=10)
    _save(fig, path)
    plt.close(fig)
    return True


def plot_step_timeline(est: dict, path: Path) -> bool:
    """Gantt chart of one step of the cycle timing model: a row per core unit (soma, input) and per link."""
    tl = (est.get("cycle") or {}).get("timeline")
    if not tl or not tl.get("intervals"):
        return False
    kinds = tl["kinds"]
    iv = tl["intervals"]
    rows = {}
    for k, i, _, _ in iv:     # rows: soma/stall share the core's soma row
        name = kinds[k]
        key = ("link", i) if name == "link" else ("input" if name == "input" else "soma", i)
        rows.setdefault(key, None)
    order = sorted(rows, key=lambda r: ({"soma": 0, "input": 1, "link": 2}[r[0]], r[1]))
    index = {r: n for n, r in enumerate(order)}
    colours = {"soma": "C0", "stall": "C3", "input": "C2", "link": "C1"}
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, min(2 + 0.12 * len(order), 40)))
    for name in kinds:
        segs = [(a * 1e6, (b - a) * 1e6, index[("link", i) if name == "link" else
                                                 ("input" if name == "input" else "soma", i)])
                for k, i, a, b in iv if kinds[k] == name]
        for y in sorted({s[2] for s in segs}):
            ax.broken_barh([(a, w) for a, w, yy in segs if yy == y], (y - 0.4, 0.8), color=colours[name])
        ax.plot([], [], color=colours[name], lw=6, label=name)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([f"{r[0]} {r[1]}" for r in order], fontsize=max(3, min(8, 400 // max(len(order), 1))))
    ax.invert_yaxis()
    ax.set_xlabel("time in step (us)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"step {tl['step']}: busy units and links (cycle timing model"
                 + (", truncated" if tl.get("truncated") else "") + ")", fontsize=10)
    _save(fig, path)
    plt.close(fig)
    return True


def summarise_cycle(cyc: dict) -> list[str]:
    lat = cyc["latency_s"]["per_step"]
    lines = [f"cycle timing: latency per step p50 {_eng(lat['p50'], 's')}, max {_eng(lat['max'], 's')}; "
             f"total {_eng(cyc['latency_s']['total'], 's')} ({cyc['vs_analytic']['total_ratio']:.3f}x the analytic "
             f"estimate, median per-step ratio {cyc['vs_analytic']['per_step_ratio_p50']:.3f})"]
    links = cyc.get("links") or {}
    if links:
        i, v = max(links.items(), key=lambda kv: kv[1]["stall_s"])
        peak = max(v2["buffer_peak"] for v2 in links.values())
        lines.append(f"cycle timing: most stalled link {i} {v['from']} -> {v['to']} ({v['dir']}): "
                     f"{_eng(v['stall_s'], 's')} waiting, busy {_eng(v['busy_s'], 's')}; buffer peak {peak}")
    stall = np.asarray(cyc["cores"]["sender_stall_s"], float)
    if stall.size and stall.max() > 0:
        lines.append(f"cycle timing: senders stalled by full buffers {_eng(stall.sum(), 's')} in all "
                     f"(most: core {int(np.argmax(stall))})")
    return lines


# ------------------------------------------------------------------------------- entry point
def summarise(est: dict) -> list[str]:
    en, lat = est["energy_j"], est["latency_s"]
    lines = [f"target {est.get('target', '?')}, {est.get('steps', '?')} steps",
             f"energy: total {_eng(en['total'], 'J')}, per step {_eng(en['per_step'], 'J')}",
             f"latency per step: p50 {_eng(lat['per_step']['p50'], 's')}, p99 {_eng(lat['per_step']['p99'], 's')}, "
             f"max {_eng(lat['per_step']['max'], 's')}; total {_eng(lat['total'], 's')}"]
    if "cycles" in est:
        lines.append(f"cycles: {est['cycles']['total']} total, {est['cycles']['mean']:.0f} per step "
                     f"at {_eng(est['cycles']['clock_hz'], 'Hz')}")
    busy = np.asarray(lat.get("per_core_busy_total", []), float)
    pc = np.asarray(en.get("per_core", []), float)
    if pc.size:
        c = int(np.argmax(busy)) if busy.size == pc.size and busy.max() > 0 else int(np.argmax(pc))
        lines.append(f"busiest core: {c} ({_eng(pc[c], 'J')} dynamic"
                     + (f", {_eng(busy[c], 's')} busy" if busy.size == pc.size else "") + ")")
    links = est.get("links") or {}
    if links:
        i, v = max(links.items(), key=lambda kv: kv[1]["total"])
        lines.append(f"hottest link: {i} tile {v['from']} -> {v['to']} ({v['dir']}), {v['total']} packets, "
                     f"max {v['max_per_step']} in one step")
    else:
        lines.append("hottest link: none (no inter-tile traffic)")
    if isinstance(est.get("cycle"), dict):
        lines += summarise_cycle(est["cycle"])
    return lines


def workload_lines(w: dict | None) -> list[str]:
    """The NeuroBench-style workload metrics of an emulator run (``report["workload"]``) as text."""
    if not w:
        return []
    syn = w["synaptic_operations"]
    layers = ", ".join(f"{k} {v:.3f}" for k, v in w["activation_sparsity_by_layer"].items() if v is not None)
    dense = "n/a" if syn["Dense"] is None else syn["Dense"]
    cs = "n/a" if w["connection_sparsity"] is None else f"{w['connection_sparsity']:.3f}"
    return [f"workload (NeuroBench definitions, per run): activation sparsity {w['activation_sparsity']:.3f} "
            f"(by layer: {layers}); synaptic ops: effective ACs {syn['Effective_ACs']}, effective MACs "
            f"{syn['Effective_MACs']}, dense {dense}; membrane updates {w['membrane_updates']}; footprint "
            f"{w['footprint_bytes']} B; connection sparsity {cs}"]


def mpi_lines(m: dict | None) -> list[str]:
    """A distributed emulation's own figures (``report["mpi"]``, ``backends/emulator/distributed/run.py``)."""
    if not isinstance(m, dict) or "ranks" not in m:
        return []
    per = lambda key, fmt: "/".join(format(v, fmt) for v in m.get(key, []))
    cost = "energy/latency priced per rank" if m.get("cost") else "no per-rank pricing"
    return [f"distributed over {m['ranks']} MPI ranks: cores {per('cores_per_rank', 'd')}, synapses "
            f"{per('synapses_per_rank', 'd')}; {m.get('bytes_sent_per_step', 0):.0f} B exchanged per step in "
            f"{m.get('exchange_rounds', '?')} rounds (every {m.get('exchange_every', '?')} step(s)); compute s "
            f"{per('compute_s_per_rank', '.3g')}, exchange s {per('exchange_s_per_rank', '.3g')}; {cost}"]


def status_lines(report: dict) -> list[str]:
    """How far the energy/latency figures go: the result's note and the target's first assumption (a user
    reading "energy: ..." must see that, e.g., Loihi 2's per-operation energies are Loihi 1's)."""
    lines = [f"status: {report['note']}"] if report.get("note") else []
    assumed = (report.get("cost") or {}).get("assumptions") or []
    if assumed:
        more = f" (+{len(assumed) - 1} more in report.json cost.assumptions)" if len(assumed) > 1 else ""
        lines.append(f"assumed: {assumed[0]}{more}")
    return lines


def make_report(res_dir, out_dir=None) -> str:
    """Write the PNGs (and, for another ``out_dir``, a copy of report.json) and return a text summary."""
    res_dir = Path(res_dir)
    res = Result.load(res_dir)
    out = Path(out_dir) if out_dir is not None else res_dir
    pending = []

    def render(name, fn):
        target = _Pending(out / name)
        if fn(target) is not False and target.data is not None:
            pending.append(target)

    with reading(res_dir, "result (report.json or result.npz)", ArtifactError):
        if res.spikes:
            backend = res.report.get("backend", "?")
            render("raster.png", lambda p: plot_raster(res.spikes, p, f"spike raster ({backend}, {res.steps} steps)"))
        est = find_estimate(res.report)
        lines = [f"result {res_dir} ({res.report.get('backend', 'unknown backend')}): {res.steps} steps, "
                 + ", ".join(f"{n} {int(np.count_nonzero(a))} {'messages' if n in res.payloads else 'spikes'}"
                             for n, a in res.spikes.items())]           # a graded population sends messages
        if est is None:
            lines.append("no energy/latency: " + str(res.report.get("note") or
                                                     "this backend gives no energy or latency estimates "
                                                     "(Lava's CPU simulation measures none; use `neurocomp emulate`)"))
        else:
            render("mesh.png", lambda p: plot_mesh(est, res.report, p))
            render("links.png", lambda p: plot_links(est, p))
            render("energy.png", lambda p: plot_energy(est, p))
            render("timeline.png", lambda p: plot_timeline(est, p))
            render("step_timeline.png", lambda p: plot_step_timeline(est, p))
            lines += summarise(est)
            lines += status_lines(res.report)
        lines += workload_lines(res.report.get("workload"))
        lines += mpi_lines(res.report.get("mpi"))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArtifactError(f"report: cannot create output directory {out} ({exc}); choose a writable -o DIR") \
            from None
    written = []
    for png in pending:                 # everything rendered: now write
        with atomic_file(png.path, "wb") as fh:
            fh.write(png.data)
        written.append(png.path.name)
    if out.resolve() != res_dir.resolve():
        with atomic_file(out / "report.json", "w") as fh:
            fh.write(json.dumps(res.report, indent=2, sort_keys=True))
        written.append("report.json")
    lines.append(f"wrote {', '.join(written) or 'nothing'} to {out}")
    return "\n".join(lines)
