"""The live terminal view (rich) and its plain-text twin for logs (``--no-ui``)."""

from __future__ import annotations

import math
from types import TracebackType
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from imugait.analysis import StrideHyperextension
from imugait.live import LiveAnalysis
from imugait.types import Side
from imugait.units import DEG_PER_RAD


def _f(x: float, fmt: str = ".1f") -> str:
    return "-" if x is None or not math.isfinite(x) else format(x, fmt)


def _last_stance(hx: StrideHyperextension | None) -> str:
    """The latest stance verdict: its knee minimum, marked when hyperextended."""
    if hx is None or not hx.valid:
        return "-"
    mark = f" [red]HYPEREXT {hx.grade}[/]" if hx.positive else ""
    return f"min {hx.knee_min_rad * DEG_PER_RAD:.1f}{mark}"


class LiveView:
    """Refreshes a few times a second from session status snapshots."""

    def __init__(self, proc: LiveAnalysis, *, plain: bool) -> None:
        self.proc = proc
        self.plain = plain
        self.console = Console()
        self._live: Live | None = None
        self._events_shown = 0
        self._last_plain = -1.0

    def __enter__(self) -> LiveView:
        if not self.plain:
            self._live = Live(console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(et, ev, tb)

    def update(self, status: Any) -> None:
        if self.plain:
            self._plain(status)
        elif self._live is not None:
            self._live.update(self._render(status))

    def _render(self, status: Any) -> Group:
        sensors = Table(title=f"imugait live - {status.elapsed_s:.0f} s", expand=False)
        for c in ("sensor", "state", "rate Hz", "lost", "bad", "overflow", "battery", "MTU"):
            sensors.add_column(c, justify="left" if c in ("sensor", "state") else "right")
        for s in status.sensors:
            sensors.add_row(
                s.sensor_id,
                str(s.state),
                _f(s.sample_rate_hz, ".0f"),
                str(s.lost_frames),
                str(s.bad_packets),
                str(s.queue_overflows),
                "-" if s.battery_pct is None else f"{s.battery_pct}%",
                "-" if s.att_mtu is None else str(s.att_mtu),
            )
        legs = Table(expand=False)
        for c in ("leg", "strides", "cadence", "knee deg", "last stance", "hyperext strides"):
            legs.add_column(c, justify="left" if c == "leg" else "right")
        for side in Side:
            g = self.proc.legs[side]
            legs.add_row(
                side.value,
                str(g.strides),
                _f(g.cadence_spm),
                _f(g.knee_deg),
                _last_stance(g.last_hyperext),
                str(g.hyperext_strides),
            )
        lines: list[Any] = [sensors, legs]
        a = self.proc.asymmetry
        if a is None:
            lines.append("asymmetry: waiting for 20 strides per leg")
        elif a.offloaded_side is not None:
            lines.append(
                f"[bold red]asymmetric loading: {a.offloaded_side} offloaded ({a.confidence})[/]"
            )
        else:
            lines.append("asymmetry: none flagged")
        lines.extend(f"[yellow]{e}[/]" for e in self.proc.events[-5:])
        return Group(*lines)

    def _plain(self, status: Any) -> None:
        for e in self.proc.events[self._events_shown :]:
            print(f"[{status.elapsed_s:7.1f} s] {e}", flush=True)
        self._events_shown = len(self.proc.events)
        if status.elapsed_s - self._last_plain < 5.0:
            return
        self._last_plain = status.elapsed_s
        sens = " ".join(
            f"{s.sensor_id}:{s.state}/{_f(s.sample_rate_hz, '.0f')}Hz/lost{s.lost_frames}"
            for s in status.sensors
        )
        legs = " ".join(
            f"{side}:{g.strides} strides,{_f(g.cadence_spm)} spm,knee {_f(g.knee_deg)}"
            for side, g in self.proc.legs.items()
        )
        print(f"[{status.elapsed_s:7.1f} s] {sens} | {legs}", flush=True)

    def final(self, result: Any) -> None:
        for e in self.proc.events[self._events_shown :]:
            print(e)
        print(
            f"recorded {result.total_notifications} notifications in {result.duration_s:.1f} s "
            f"to {result.path}"
        )
        for sid in result.not_found:
            print(f"sensor {sid} was never found")
