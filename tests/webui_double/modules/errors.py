"""Stands in for modules/errors.py (A1111 v1.10.1): report() and display() write to stderr
in the host's layout ("*** " before each line of the message, the traceback indented,
then "---") and never raise.

Scaffolding (not in the host): each report()/display() is kept in `reports` as
Report(message, exc_info, exception), so tests can see what the host caught;
reset_reports() empties the list.
"""

import sys
import textwrap
import traceback
from typing import NamedTuple


class Report(NamedTuple):
    message: str
    exc_info: bool
    exception: BaseException | None


reports: list[Report] = []


def reset_reports():
    reports.clear()


def report(message: str, *, exc_info: bool = False) -> None:
    reports.append(Report(message, exc_info, sys.exc_info()[1]))
    text = "".join(f"*** {line}\n" for line in message.splitlines())
    if exc_info:
        text += textwrap.indent(traceback.format_exc(), " " * 4) + "\n---\n"
    sys.stderr.write(text)


def display(e: Exception, task, *, full_traceback=False):
    headline = f"{task or 'error'}: {type(e).__name__}"
    reports.append(Report(headline, True, e))
    sys.stderr.write(headline + "\n" + "".join(traceback.format_exception(e)))


def print_error_explanation(message):
    rows = message.strip().splitlines()
    rule = "=" * max(map(len, rows))
    sys.stderr.write("\n".join([rule, *rows, rule]) + "\n")
