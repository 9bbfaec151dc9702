"""The figures as a chart (PNG): shares on the left, counts on the right, the proxy parents' five musts below.
Every label is the text the chat and the Excel table show (bot.stats.figures), so a hidden count is drawn as no
bar with "<5" beside it, never as a bar whose length gives the number away.

Chinese is set in Noto Sans SC, shipped by the pylopdf-fonts-zh-cn package (SIL Open Font License 1.1) and
registered with matplotlib from the package's own path: the chart renders the same on a fresh server, whatever
fonts the host has. matplotlib is imported here only, with the Agg backend (no display)."""

from __future__ import annotations

import io
import threading
from functools import lru_cache
from pathlib import Path

from bot.stats.figures import (ABSENCES, CALLS_HELD, CALLS_MISSED, CASES, LABELS, RATES, SAFETY, SUSPECTED,
                               UNEXPLAINED, MUSTS_OVERDUE, Figures, count_text, is_hidden, rate, rate_text,
                               scope_label)

COUNTS = (CALLS_HELD, CALLS_MISSED, ABSENCES, UNEXPLAINED, CASES, SUSPECTED, SAFETY, MUSTS_OVERDUE)
CARERS_SHOWN = 12  # the least done first: the ones to follow up


def font_path() -> Path:
    import pylopdf_fonts_zh_cn

    return Path(pylopdf_fonts_zh_cn.sans_path())


@lru_cache(maxsize=1)
def font_family() -> str:
    """Register the shipped font with matplotlib's font manager (once) and return its family name."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager

    path = str(font_path())
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


# matplotlib's settings (rcParams) and pyplot's figure registry are shared by the whole process: one chart is
# drawn at a time, whichever worker thread draws it (bot.stats.service.chart).
_DRAWING = threading.Lock()


def png(figures: Figures, _) -> bytes:
    with _DRAWING:
        return _png(figures, _)


def _png(figures: Figures, _) -> bytes:
    family = font_family()
    import matplotlib.pyplot as plt
    from matplotlib import rc_context

    hidden = figures.hidden
    carers = figures.carers[:CARERS_SHOWN]
    with rc_context({"font.family": [family], "axes.unicode_minus": False}):
        fig = plt.figure(figsize=(11, 7.5 if carers else 4.8), dpi=100)
        try:
            grid = fig.add_gridspec(2 if carers else 1, 2, height_ratios=[1, 1.1] if carers else [1])
            fig.suptitle(_("{place} · {period} (as of {day})").format(
                place=scope_label(_, figures), period=figures.period, day=_day(figures)), fontsize=13)
            shares = [figures.row(key) for key in RATES]
            _bars(fig.add_subplot(grid[0, 0]), _("Shares (%)"), [_(LABELS[r.key]) for r in shares],
                  [None if rate_text(r.count, r.base, hidden) == "—" else rate(r.count, r.base) for r in shares],
                  [f"{rate_text(r.count, r.base, hidden)} ({count_text(r.count, hidden)}/"
                   f"{count_text(r.base or 0, hidden)})" for r in shares], limit=100)
            counts = [figures.row(key) for key in COUNTS]
            _bars(fig.add_subplot(grid[0, 1]), _("Counts"), [_(LABELS[r.key]) for r in counts],
                  [None if is_hidden(r.count, hidden) else r.count for r in counts],
                  [count_text(r.count, hidden) for r in counts])
            if carers:
                _bars(fig.add_subplot(grid[1, :]), _("Five musts done by proxy parent (%)"),
                      [c.name for c in carers],
                      [None if rate_text(c.done, c.owed, hidden) == "—" else rate(c.done, c.owed) for c in carers],
                      [f"{rate_text(c.done, c.owed, hidden)} · " + _("overdue {n}").format(
                          n=count_text(c.overdue, hidden)) for c in carers], limit=100)
            fig.tight_layout()
            out = io.BytesIO()
            fig.savefig(out, format="png")
            return out.getvalue()
        finally:
            plt.close(fig)


def _day(figures: Figures) -> str:
    return figures.as_of[:10]


def _bars(ax, title: str, labels: list[str], values: list[float | None], texts: list[str],
          limit: float | None = None) -> None:
    """Horizontal bars, the first at the top; a value of None (hidden) draws no bar, only its text."""
    positions = list(range(len(labels)))[::-1]
    lengths = [v or 0 for v in values]
    ax.barh(positions, lengths, color="#4C78A8")
    top = limit or max(lengths + [1]) * 1.25
    ax.set_xlim(0, top * (1.35 if limit else 1))
    for y, length, text in zip(positions, lengths, texts):
        ax.text(length + top * 0.01, y, text, va="center", fontsize=9)
    ax.set_yticks(positions)
    ax.set_yticklabels(labels, fontsize=9)
    ax.set_title(title, fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
