"""The core's file readers, one module per format, each an ``edubalance_load_file`` hook.

Every reader answers only for its own format (:func:`edubalance.loading.detect_format`) and
returns None otherwise, so a plug-in that reads another format takes the same path.
"""
from __future__ import annotations

from pathlib import Path

from ..loading import InputError, LoadedFile
from . import csvfile, excel, jsonfile, ndjson, yamlfile

READERS = (csvfile, excel, jsonfile, ndjson, yamlfile)


def load_file(path: str | Path, default_province: str | None = None) -> LoadedFile:
    """Read ``path`` with the core's readers (what the ``edubalance_load_file`` hook does
    without plug-ins); raise :class:`~edubalance.loading.InputError` if it cannot be read."""
    for reader in READERS:
        loaded = reader.edubalance_load_file(path=str(path), default_province=default_province)
        if loaded is not None:
            return loaded
    raise InputError(str(path), "没有能读取此文件的读取器 / no reader for this file")
