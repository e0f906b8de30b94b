"""The web console of `localcloud up`: requests, functions, queues, mail, payments and metrics, live."""

from localcloud.console.web_console import CONSOLE_PATH, WebConsole

__all__ = ["CONSOLE_PATH", "WebConsole"]
