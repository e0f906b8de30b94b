"""Run in a fresh process by bench.cold_start: which modules a handler's path actually uses.

`python -m bench.handler_probe <module> <event.json> <report.json>` imports the handler module with
the function's environment, invokes it once with the event, and writes the names of the modules
whose functions ran on that path, with the handler's response. A function counts when it runs
while project code (the function and the layer, on PYTHONPATH) is its caller or its caller's
caller: a library's own work while it is being imported is not a use. Imports only the standard
library and the sample events' context before the handler, so what it loads is the handler's.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

from tests.support.events import FakeLambdaContext

# Set on the code of functions (as opposed to module and class bodies).
_CO_OPTIMIZED = 0x1
_TOOL = sys.monitoring.PROFILER_ID


class PathRecorder:
    """Collects the files of the functions that run on behalf of project code."""

    def __init__(self, project_roots: list[str]) -> None:
        self._roots = tuple(root.rstrip(os.sep) + os.sep for root in project_roots)
        self.files: set[str] = set()

    def start(self) -> None:
        sys.monitoring.use_tool_id(_TOOL, "handler_probe")
        sys.monitoring.register_callback(_TOOL, sys.monitoring.events.PY_START, self._on_start)
        sys.monitoring.set_events(_TOOL, sys.monitoring.events.PY_START)

    def stop(self) -> None:
        sys.monitoring.set_events(_TOOL, 0)
        sys.monitoring.free_tool_id(_TOOL)

    def _on_start(self, code: CodeType, _offset: int) -> Any:
        if not code.co_flags & _CO_OPTIMIZED:
            return None
        if self._on_path(sys._getframe(1)):
            self.files.add(code.co_filename)
            # Known to be used: this code need not be looked at again.
            return sys.monitoring.DISABLE
        return None

    def _on_path(self, frame: FrameType) -> bool:
        current: FrameType | None = frame
        while current is not None:
            if current.f_code.co_filename.startswith(self._roots):
                return True
            if not current.f_code.co_flags & _CO_OPTIMIZED:
                # A library's module or class body: the work of importing it, not of using it.
                return False
            current = current.f_back
        return False


def used_modules(files: set[str]) -> list[str]:
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if (path := getattr(module, "__file__", None)) is not None and path in files
    )


def main(module_name: str, event_file: str, report_file: str) -> None:
    event = json.loads(Path(event_file).read_text())
    recorder = PathRecorder(os.environ["PYTHONPATH"].split(os.pathsep))
    recorder.start()
    handler = importlib.import_module(module_name).handler
    response = handler(event, FakeLambdaContext(function_name=os.environ["AWS_LAMBDA_FUNCTION_NAME"]))
    recorder.stop()
    report = {"used": used_modules(recorder.files), "response": response}
    Path(report_file).write_text(json.dumps(report, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:4])
