"""The usage graph's geometry: 30 daily peaks as bars, drawn as SVG by the template."""

from __future__ import annotations

import math
from dataclasses import dataclass

from seatkeeper.domain.model import Account
from seatkeeper.domain.usage import UsageReport
from seatkeeper.web import presenters as shown

WIDTH, HEIGHT = 720.0, 240.0
TOP, BOTTOM = 14.0, 26.0
CHAR = 7.0  # roughly, the width of a character of the 11 px labels
GAP = 0.2  # of each day's slot, between bars


@dataclass(frozen=True, slots=True)
class Bar:
    date: str  # ISO date
    label: str  # "Wed 25 Nov"
    x: float
    y: float
    width: float
    height: float
    peak: int
    denials: int
    counted: bool  # False before the account existed
    description: str  # what hovering or focusing the day shows


@dataclass(frozen=True, slots=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True, slots=True)
class DayLabel:
    x: float
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: float
    height: float
    left: float
    right: float  # x of the plot's right edge
    top: float
    bottom: float  # y of the plot's baseline
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    day_labels: tuple[DayLabel, ...]
    licenses: int
    license_y: float
    summary: str  # for people who cannot see the chart


def _scale(report: UsageReport) -> tuple[int, int]:
    """A round top for the scale, a little above the license total and the highest peak,
    and the step between its marks."""
    top = max(report.total, report.daily_max, 1) * 1.1
    rough = top / 4
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(
        (m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= rough), 10 * magnitude
    )
    step = max(1, math.ceil(step))
    return math.ceil(top / step) * step, step


def usage_chart(report: UsageReport, account: Account) -> Chart:
    """Bars for each day's peak, the license total across them, and axis marks."""
    scale, step = _scale(report)
    # Room for the scale's numbers on the left and "N licenses" on the right, however long.
    left = 12 + CHAR * len(str(scale))
    right = WIDTH - 10 - CHAR * len(f"{report.total} licenses")
    bottom = HEIGHT - BOTTOM
    plot_h = bottom - TOP
    slot = (right - left) / max(len(report.days), 1)

    def y_of(value: int) -> float:
        return bottom - plot_h * value / scale

    bars = []
    for n, day in enumerate(shown.usage_day(d, account) for d in report.days):
        bars.append(
            Bar(
                date=day.date.isoformat(),
                label=day.label,
                x=round(left + n * slot + slot * GAP / 2, 2),
                y=round(y_of(day.max_concurrent), 2),
                width=round(slot * (1 - GAP), 2),
                height=round(bottom - y_of(day.max_concurrent), 2),
                peak=day.max_concurrent,
                denials=day.denials,
                counted=day.account_existed,
                description=day.description(report.total),
            )
        )
    ticks = tuple(Tick(v, round(y_of(v), 2)) for v in range(0, scale + 1, step))
    labels = tuple(
        DayLabel(round(b.x + b.width / 2, 2), b.label[4:])
        for n, b in enumerate(bars)
        if n % 7 == (len(bars) - 1) % 7  # today, and every 7th day before it
    )
    denial_days = sum(1 for d in report.days if d.denials)
    summary = (
        f"Daily peak of concurrent sessions over {len(bars)} days: highest {report.daily_max} "
        f"of {report.total} licenses; {denial_days} day{'' if denial_days == 1 else 's'} "
        "with denials."
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=left,
        right=right,
        top=TOP,
        bottom=bottom,
        bars=tuple(bars),
        ticks=ticks,
        day_labels=labels,
        licenses=report.total,
        license_y=round(y_of(report.total), 2),
        summary=summary,
    )
