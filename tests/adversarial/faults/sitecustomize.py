"""Fault injection for the kill -9 tests; Python imports it at start-up when this folder is
on PYTHONPATH. Nothing in `pipeline/` knows about it.

With `CXN_TEST_STOP_AT=module:function:N`, the N-th call of that function prints
`CXN-STOPPED-AT …` on standard error and waits, so the test can kill the process at
exactly that point (instead of at a moment that depends on the machine's speed).
"""

from __future__ import annotations

import importlib
import os
import sys
import time

_SPEC = os.environ.get("CXN_TEST_STOP_AT")

if _SPEC:
    _module_name, _function_name, _nth = _SPEC.split(":")
    _module = importlib.import_module(_module_name)
    _original = getattr(_module, _function_name)
    _calls = [0]

    def _stop_here(*args, **kwargs):
        _calls[0] += 1
        if _calls[0] == int(_nth):
            print(f"CXN-STOPPED-AT {_SPEC}", file=sys.stderr, flush=True)
            time.sleep(600)  # the test kills the process now
        return _original(*args, **kwargs)

    setattr(_module, _function_name, _stop_here)
