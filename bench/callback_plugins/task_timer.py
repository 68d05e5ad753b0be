# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark helper (not part of the collection): how long each task of a play took over all hosts.

run_bench.py enables it for every run. At the end of the play it writes one JSON document to the file
named by HOSTUP_BENCH_TASK_TIMES: the seconds from the start of the play to each task's start,
and each task's duration (to the start of the next task, or the end of the play).
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: task_timer
type: aggregate
short_description: Time every task of a play (hostup.cloud benchmark)
description:
  - Writes the start and duration of every task, over all hosts, to a JSON file.
options: {}
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.started = time.time()
        self.tasks = []

    def _close_last(self, now):
        if self.tasks and self.tasks[-1]["duration_s"] is None:
            self.tasks[-1]["duration_s"] = round(now - self.started - self.tasks[-1]["start_s"], 3)

    def v2_playbook_on_task_start(self, task, is_conditional):
        name = task.get_name()
        # Meta tasks announce themselves once per host; count such a task once.
        if self.tasks and self.tasks[-1]["name"] == name:
            return
        now = time.time()
        self._close_last(now)
        self.tasks.append({"name": name, "start_s": round(now - self.started, 3), "duration_s": None})

    def v2_playbook_on_stats(self, stats):
        now = time.time()
        self._close_last(now)
        target = os.environ.get("HOSTUP_BENCH_TASK_TIMES")
        if target:
            with open(target, "w") as handle:
                json.dump({"total_s": round(now - self.started, 3), "tasks": self.tasks}, handle, indent=1)
