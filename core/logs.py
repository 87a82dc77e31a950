"""hvla's one logging policy: the terminal shows hvla's own output; libraries' logs go to a file.

The entry points call `configure` once per process (the `hvla` command's callback, the console app);
library code only logs (`logging.getLogger(__name__)`), and wraps calls into chatty libraries in
`library_output`.

Quiet (the default):
- every log record at INFO and above, hvla's and the libraries', is appended to the log file:
  `$HVLA_LOG`, else `runs/hvla.log` under the working directory (opened on the first record);
- hvla's own warnings and errors (loggers `hvla.*`, warnings whose category hvla defines) are printed
  on stderr as well, as "warning: ...";
- libraries that put a terminal handler on their logger when imported (ultralytics on stdout,
  transformers on stderr) find, when they import, a logger made here that keeps such handlers off and
  passes records to the file: their import-time banners ("Creating new Ultralytics Settings") too;
- other libraries' warnings (httpx, urllib3, matplotlib, torch's `warnings.warn`) reach the file only;
- Hugging Face progress bars (transformers' "Loading weights") are off, ONNX Runtime logs errors only,
  and what a library prints while `library_output` wraps it (the ONNX exports) goes to the file.
Verbose (`hvla -v ...`): nothing is rerouted; libraries print as they do by default, and every record
at INFO and above is shown on stderr as well as written to the file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

LOG_ENV = "HVLA_LOG"
DEFAULT_LOG = Path("runs") / "hvla.log"
# Libraries that attach a handler of their own to the terminal (and stop propagation) when imported.
ROUTED_LIBRARIES = ("ultralytics", "transformers")
# Quiet even in the file: what they say at INFO is one line per HTTP request or font lookup.
WARNING_ONLY = ("httpx", "httpcore", "urllib3", "matplotlib", "PIL", "filelock", "asyncio", "fsspec")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_HANDLER_NAME = "hvla.logs"  # the handlers installed here, removed again by the next `configure`
_state = {"configured": False, "verbose": False}


def log_path() -> Path:
    """The log file: `$HVLA_LOG`, else runs/hvla.log under the working directory."""
    return Path(os.environ.get(LOG_ENV, "").strip() or DEFAULT_LOG).expanduser().resolve()


def is_verbose() -> bool:
    return _state["verbose"]


def configure(verbose: bool = False) -> Path:
    """Apply the policy to this process (again: replacing the previous call's); returns the log file."""
    path = log_path()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.INFO)
    path.parent.mkdir(parents=True, exist_ok=True)
    # delay: a command that logs nothing leaves no file; 5 MB then one older file kept.
    file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=1, delay=True)
    file_handler.setFormatter(_FileFormatter("%(asctime)s %(process)d %(name)s %(levelname)s: %(message)s"))
    terminal = _Stderr()
    terminal.setFormatter(_TerminalFormatter())
    if verbose:
        terminal.setLevel(logging.INFO)
    else:
        terminal.setLevel(logging.WARNING)
        terminal.addFilter(_from_hvla)
    for handler in (file_handler, terminal):
        handler.set_name(_HANDLER_NAME)
        root.addHandler(handler)
    for name in WARNING_ONLY:
        logging.getLogger(name).setLevel(logging.WARNING)
    _Routed.active = not verbose
    for name in ROUTED_LIBRARIES:
        _route(name)
    warnings.showwarning = _show_warning
    _quiet_progress_bars(not verbose)
    _quiet_onnxruntime(not verbose)
    _state.update(configured=True, verbose=verbose)
    return path


def ensure_configured() -> None:
    """`configure()` unless this process has applied the policy already (keeps the CLI's -v)."""
    if not _state["configured"]:
        configure()


@contextlib.contextmanager
def library_output(logger_name: str) -> Iterator[None]:
    """While quiet, what the wrapped library code prints on stdout / stderr becomes INFO lines of
    `logger_name` in the log file. The streams are the process's: keep it around short calls."""
    if _state["verbose"] or not _state["configured"]:
        yield
        return
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield
    finally:
        log = logging.getLogger(logger_name)
        for line in buffer.getvalue().splitlines():
            if line.strip():
                log.info("%s", line.rstrip())


# ---------------------------------------------------------------------------------------------- internals


def _from_hvla(record: logging.LogRecord) -> bool:
    return record.name == "hvla" or record.name.startswith("hvla.")


class _Stderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _FileFormatter(logging.Formatter):
    """Plain text: the colour codes libraries put in their messages are dropped."""

    def format(self, record: logging.LogRecord) -> str:
        return _ANSI.sub("", super().format(record))


class _TerminalFormatter(logging.Formatter):
    """`warning: message` (the CLI's own style for errors), with the logger's name only at INFO."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        prefix = record.levelname.lower() if record.levelno >= logging.WARNING else record.name
        return f"{prefix}: {text}"


class _Routed(logging.Logger):
    """A library's logger: while `active`, handlers on the terminal streams are not attached and records
    always propagate (to the log file); the library's own level stays in force."""

    active = True

    def addHandler(self, hdlr: logging.Handler) -> None:
        if _Routed.active and _on_terminal(hdlr):
            return
        super().addHandler(hdlr)

    @property
    def propagate(self) -> bool:  # type: ignore[override]
        return self._propagate or _Routed.active

    @propagate.setter
    def propagate(self, value: bool) -> None:
        self._propagate = value


def _on_terminal(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    terminal = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    return isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler) and any(
        stream is s for s in terminal
    )


def _route(name: str) -> None:
    existing = logging.Logger.manager.loggerDict.get(name)
    if isinstance(existing, logging.Logger) and not isinstance(existing, _Routed):
        # Imported before the policy applied: take its terminal handlers off now.
        if _Routed.active:
            for handler in [h for h in existing.handlers if _on_terminal(h)]:
                existing.removeHandler(handler)
            existing.propagate = True
        return
    previous = logging.getLoggerClass()
    logging.setLoggerClass(_Routed)
    try:
        logging.getLogger(name)
    finally:
        logging.setLoggerClass(previous)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """`warnings.showwarning`: hvla's own warnings on stderr (and in the file), the others in the file."""
    if category.__module__.split(".")[0] == "hvla":
        logging.getLogger("hvla.warnings").warning("%s", message)
    else:
        text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
        logging.getLogger("py.warnings").warning("%s", text)


def _quiet_progress_bars(quiet: bool) -> None:
    if not quiet:
        return
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read by huggingface_hub (and transformers)
    if "transformers" in sys.modules:  # imported already: the variable was read; switch them off directly
        sys.modules["transformers"].utils.logging.disable_progress_bar()


def _quiet_onnxruntime(quiet: bool) -> None:
    try:
        import onnxruntime
    except ImportError:
        return
    onnxruntime.set_default_logger_severity(3 if quiet else 2)  # 3: errors only; 2: its default (warnings)
