"""5. Memory: the server's resident memory, idle and in every benchmark."""

from __future__ import annotations

from bench import seed
from bench.common import Context, throughput
from bench.report import fmt, ratio
from bench.server import Memory

NAME = "memory"
TITLE = "5. Memory (VmRSS now, VmHWM peak, from /proc/<pid>/status)"
COLUMNS = ("server: moment", "VmRSS MiB", "VmHWM MiB", "base VmRSS", "ratio")


def idle(ctx: Context) -> None:
    """The baseline: a server on an empty database, after start and after serving /healthz."""
    url = ctx.backend.fresh("idle")
    seed.new_database(url)
    with ctx.server(url, "idle") as server:
        throughput(ctx, server, "get.lua", path="/healthz", warm_up=False)
        ctx.remember("idle: after serving /healthz", server)


def table(ctx: Context) -> None:
    """Every memory figure this backend's benchmarks noted, against the idle server's."""
    out = ctx.table(TITLE, COLUMNS)
    idle = [m for label, m in ctx.memory if label.startswith("idle")]
    base: Memory | None = idle[0] if idle else None
    for label, memory in ctx.memory:
        base_rss = base.rss if base else None
        out.add(
            label,
            fmt(memory.rss),
            fmt(memory.hwm),
            fmt(base_rss),
            ratio(memory.rss, base_rss),
        )
    out.note(
        "each benchmark runs its own server process, so its VmHWM at the end is its peak "
        "over that benchmark; ratio: VmRSS / the idle server's VmRSS after start"
    )
    for name, sessions in (
        ("grid", ctx.sizes.grid_sessions),
        ("grid-large", ctx.sizes.grid_large_sessions),
    ):
        peaks = [m.hwm for label, m in ctx.memory if label.startswith(f"{name}:")]
        if peaks:
            out.note(f"peak with {sessions:,} open sessions ({name}): {max(peaks):.1f} MiB")
