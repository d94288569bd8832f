"""The usage graph's geometry: daily peaks (or, over a long period, monthly ones) as bars,
drawn as SVG by the template."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from seatkeeper.domain.model import Account
from seatkeeper.domain.trueup import MonthUsage
from seatkeeper.domain.usage import UsageReport
from seatkeeper.domain.words import plural
from seatkeeper.web import presenters as shown

WIDTH, HEIGHT = 720.0, 240.0
TOP, BOTTOM = 14.0, 26.0
CHAR = 7.0  # roughly, the width of a character of the 11 px labels
GAP = 0.2  # of each day's slot, between bars


@dataclass(frozen=True, slots=True)
class Bar:
    date: str  # ISO date, or YYYY-MM for a month
    label: str  # "Wed 25 Nov", or "Mar 2026"
    x: float
    y: float
    width: float
    height: float
    peak: int
    denials: int
    counted: bool  # False before the account existed
    description: str  # what hovering or focusing the day (or month) shows
    testid: str = "chart-day"  # chart-month for a month's bar
    days_at_cap: int = 0  # a month's days with every license in use
    needed: int = 0  # a month's licenses needed: with this many, no one refused
    waited: int = 0  # places asked in the line for a license


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
    step: str = "day"  # or "month": a bar a month, each its highest daily peak

    @property
    def title(self) -> str:
        return f"{'Daily' if self.step == 'day' else 'Monthly'} peak of concurrent sessions"


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


def usage_chart(
    report: UsageReport, account: Account, *, months: Sequence[MonthUsage] | None = None
) -> Chart:
    """Bars for each day's peak (or, given `months`, each month's), the license total
    across them, and axis marks."""
    scale, step = _scale(report)
    # Room for the scale's numbers on the left and "N licenses" on the right, however long.
    left = 12 + CHAR * len(str(scale))
    right = WIDTH - 10 - CHAR * len(plural(report.total, "license"))
    bottom = HEIGHT - BOTTOM
    plot_h = bottom - TOP
    slots = _day_slots(report, account) if months is None else _month_slots(months, report)
    slot = (right - left) / max(len(slots), 1)

    def y_of(value: int) -> float:
        return bottom - plot_h * value / scale

    bars = tuple(
        replace(
            bar,
            x=round(left + n * slot + slot * GAP / 2, 2),
            y=round(y_of(bar.peak), 2),
            width=round(slot * (1 - GAP), 2),
            height=round(bottom - y_of(bar.peak), 2),
        )
        for n, bar in enumerate(slots)
    )
    ticks = tuple(Tick(v, round(y_of(v), 2)) for v in range(0, scale + 1, step))
    # Days: today, and every 7th day before it. Months: each, or every few over years.
    every = 7 if months is None else math.ceil(len(bars) / 12)
    labels = tuple(
        DayLabel(round(b.x + b.width / 2, 2), _axis_label(b, first=n == 0))
        for n, b in enumerate(bars)
        if n % every == (len(bars) - 1) % every
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=left,
        right=right,
        top=TOP,
        bottom=bottom,
        bars=bars,
        ticks=ticks,
        day_labels=labels,
        licenses=report.total,
        license_y=round(y_of(report.total), 2),
        summary=_summary(bars, report, "day" if months is None else "month"),
        step="day" if months is None else "month",
    )


def _axis_label(bar: Bar, *, first: bool) -> str:
    """ "25 Nov" under a day; "Mar" under a month, with the year on January and the first."""
    if bar.testid == "chart-day":
        return bar.label[4:]
    return bar.label if first or bar.date.endswith("-01") else bar.label[:3]


def _day_slots(report: UsageReport, account: Account) -> list[Bar]:
    """A bar a day, not yet placed."""
    return [
        Bar(
            date=day.date.isoformat(),
            label=day.label,
            x=0,
            y=0,
            width=0,
            height=0,
            peak=day.max_concurrent,
            denials=day.denials,
            counted=day.account_existed,
            description=day.description(report.total),
            waited=day.waited,
        )
        for day in (shown.usage_day(d, account) for d in report.days)
    ]


def _month_slots(months: Sequence[MonthUsage], report: UsageReport) -> list[Bar]:
    """A bar a month, its highest daily peak, not yet placed."""
    return [
        Bar(
            date=f"{m.month:%Y-%m}",
            label=m.label,
            x=0,
            y=0,
            width=0,
            height=0,
            peak=m.peak,
            denials=m.denials,
            counted=m.account_existed,
            description=shown.month_description(m, report.total),
            testid="chart-month",
            days_at_cap=m.days_at_cap,
            needed=m.licenses_needed,
            waited=m.waited,
        )
        for m in months
    ]


def _summary(bars: Sequence[Bar], report: UsageReport, step: str) -> str:
    denied = sum(1 for b in bars if b.denials)
    return (
        f"{'Daily' if step == 'day' else 'Monthly'} peak of concurrent sessions over "
        f"{plural(len(bars), step)}: highest {report.daily_max} of "
        f"{plural(report.total, 'license')}; {plural(denied, step)} with denials."
    )
