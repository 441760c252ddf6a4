"""Progress that works on a terminal and in a log: a tqdm bar when stderr is a terminal, else
plain lines (what, how far, the latest numbers, ETA) at most every LOG_EVERY seconds and at the
end, so a log file shows a run's progress without carriage-return debris."""

from __future__ import annotations

import sys
import time

LOG_EVERY = 30.0  # seconds between plain progress lines


class LogLines:
    """The part of tqdm's interface gaitsae uses, printing plain lines."""

    def __init__(self, total: int, desc: str, unit: str, initial: int = 0, every: float | None = None):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.every = LOG_EVERY if every is None else every
        self.postfix: dict = {}
        self.started = self.last = time.monotonic()
        self.start_n = initial

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line(now)

    def set_postfix(self, values: dict) -> None:
        self.postfix = dict(values)

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def _line(self, now: float) -> None:
        done = self.n - self.start_n
        rate = (now - self.started) / done if done else None
        eta = f", ETA {_duration(rate * (self.total - self.n))}" if rate and self.total > self.n else ""
        numbers = "".join(f", {k} {v}" for k, v in self.postfix.items())
        print(f"{self.desc}: {self.unit} {self.n}/{self.total}{numbers}{eta}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.n > self.start_n:
            self._line(time.monotonic())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def progress(total: int, desc: str, unit: str, enabled: bool = True, initial: int = 0):
    """A tqdm bar on a terminal, LogLines otherwise; disabled entirely with enabled=False."""
    from tqdm.auto import tqdm

    if enabled and not sys.stderr.isatty():
        return LogLines(total, desc, unit, initial)
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=not enabled, leave=False)
