"""The core's file readers, one module per format, each an ``edubalance_load_file`` hook.

Every reader answers only for its own format (:func:`edubalance.loading.detect_format`) and
returns None otherwise, so a plug-in that reads another format takes the same path.
"""
from __future__ import annotations

from . import csvfile, excel, jsonfile, ndjson, yamlfile

READERS = (csvfile, excel, jsonfile, ndjson, yamlfile)
