"""Saying a thing once: what is unavailable or failed, without repeating it per face."""

from __future__ import annotations

import logging

log = logging.getLogger("lib_facepop")


class Notices:
    """Logs each distinct notice once. A pipeline holds one; a host may share one per job.

    ``logger`` may be an adapter that says where the notices come from (e.g. which server).
    """

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter | None = None) -> None:
        self._logger = logger or log
        self._said: set[str] = set()

    def warning(self, key: str, message: str, *args: object) -> None:
        self._say(key, logging.WARNING, message, *args)

    def info(self, key: str, message: str, *args: object) -> None:
        self._say(key, logging.INFO, message, *args)

    def said(self, key: str) -> bool:
        return key in self._said

    def _say(self, key: str, level: int, message: str, *args: object) -> None:
        if key in self._said:
            return
        self._said.add(key)
        self._logger.log(level, message, *args)
