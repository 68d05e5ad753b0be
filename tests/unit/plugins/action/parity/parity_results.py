# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Notification callback of the parity matrix (tests/unit/plugins/action/test_parity.py).

Two jobs, both driven by the JSON file named in HOSTUP_PARITY_FILE:

* just before a task starts, queue the simulator faults listed for that task name, so that a
  row's injected answer reaches that row whatever ran before it;
* record every task's full result as the callbacks see it, keyed by task name, and write them all
  to the ``results`` file named there when the playbook ends. Registered variables are not used:
  some ansible-core releases move a result's warnings out before registering it.
"""

from __future__ import annotations

import json
import os
import urllib.request

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: parity_results
type: notification
short_description: Queue a row's simulator faults and record every task's result (test helper)
description:
  - Reads E(HOSTUP_PARITY_FILE) (JSON with C(sim_url), C(faults) by task name and C(results), a file name).
"""


def plain(value):
    """``value`` as JSON builtins; releases that carry warnings as objects give their text."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return str(value)
    for holder in (value, getattr(value, "event", None)):
        text = getattr(holder, "msg", None)
        if isinstance(text, str):
            return str(text)
    return "<%s %s>" % (type(value).__name__, value)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "parity_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        with open(os.environ["HOSTUP_PARITY_FILE"], encoding="utf-8") as handle:
            self.setup = json.load(handle)
        self.results = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        faults = self.setup["faults"].get(task.get_name())
        if faults:
            request = urllib.request.Request(self.setup["sim_url"] + "/_sim/faults", method="POST",
                                             data=json.dumps(faults).encode("utf-8"),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()

    def _record(self, result, outcome):
        name = getattr(result, "task_name", None) or result._task.get_name()
        self.results[name] = {"outcome": outcome, "result": plain(result._result)}

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        with open(self.setup["results"], "w", encoding="utf-8") as handle:
            json.dump(self.results, handle, indent=1, sort_keys=True)
