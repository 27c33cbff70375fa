"""Progress of long commands (importers, exports, lint, benchmark), in one place.

Progress goes to standard error, so standard output carries only the summary and whatever
scripts parse. On a terminal it is a tqdm bar: count, rate and time left. Anywhere else (a
log file, CI, a pipe) it is a plain line every PLAIN_EVERY_SECONDS and one at the end,
because a redrawn bar turns into one endless line of carriage returns there.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

PLAIN_EVERY_SECONDS = 5.0
PLAIN_FORMAT = "{desc}: {n_fmt}/{total_fmt}{unit} ({percentage:.0f}%), {rate_fmt}, {remaining} left"
BAR_FORMAT = (
    "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{unit} "
    "[{elapsed}<{remaining}, {rate_fmt}]"
)


class _Lines:
    """A file for tqdm that turns its redraws ('\\r' + status) into whole lines."""

    def __init__(self, stream):
        self.stream = stream
        self.count = None

    def write(self, text):
        line = text.replace("\r", "").rstrip()
        count = line.split(" (", 1)[0]  # "import_runbooks: 25/121 files"
        # Closing redraws the last state: once is enough.
        if line and count != self.count:
            self.stream.write(line + "\n")
            self.count = count

    def flush(self):
        self.stream.flush()


def _raw(stream):
    # Django's OutputWrapper ends every write with a newline, which breaks a redrawn bar;
    # tqdm gets the stream underneath.
    return getattr(stream, "_out", stream) if stream is not None else sys.stderr


class Progress:
    """`with Progress(command.stderr, "import_runbooks", total=n, unit="files") as bar:`
    then `bar.update()` per item; `bar.write(line, stream)` prints a line without tearing
    the bar. Without a total up front, `bar.start(total)` shows it once the total is known."""

    def __init__(self, stream, desc: str, *, total: int | None = None, unit: str = "items"):
        self._file = _raw(stream)
        self._terminal = hasattr(self._file, "isatty") and self._file.isatty()
        self._desc, self._unit = desc, unit
        self._bar = None
        if total is not None:
            self.start(total)

    def start(self, total: int):
        if self._bar is not None:
            self._bar.close()
        terminal = self._terminal
        self._bar = tqdm(
            total=total,
            desc=self._desc,
            unit=f" {self._unit}",  # "25/121 files", "4.20 files/s"
            file=self._file if terminal else _Lines(self._file),
            bar_format=BAR_FORMAT if terminal else PLAIN_FORMAT,
            mininterval=0.1 if terminal else PLAIN_EVERY_SECONDS,
            # Plain lines are paced by time alone; tqdm would otherwise learn to skip updates.
            miniters=None if terminal else 1,
            dynamic_ncols=terminal,
            leave=True,
        )

    def update(self, count: int = 1):
        if self._bar is not None:
            self._bar.update(count)

    def write(self, line: str, stream=None):
        """A line of output (to `stream`, default the progress stream) between redraws."""
        target = stream if stream is not None else self._file
        with tqdm.external_write_mode(file=self._file):
            # Django's OutputWrapper adds the newline itself.
            target.write(line if hasattr(target, "style_func") else line + "\n")

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress(iterable, stream, desc: str, *, total: int | None = None, unit: str = "items"):
    """Iterate `iterable`, showing progress on `stream` (a command's stderr)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    with Progress(stream, desc, total=total, unit=unit) as bar:
        for item in iterable:
            yield item
            bar.update()
