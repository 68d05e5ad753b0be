# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    # What each attribute means (every module states its own support level), and where the calls run.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and predict whether it would change anything, without changing it.
  diff_mode:
    description: Shows what it changes (or would change, in check mode) when run with C(--diff).
  idempotent:
    description:
      - Run twice with the same options, the second run reports no change and changes nothing on HostUp.
  action:
    description: Has an action plugin that does the work on the controller.
    support: full
    details:
      - The API calls run in the Ansible worker process on the controller; no module is sent to any host,
        so the managed hosts need neither Python nor C(requests), and C(delegate_to) makes no difference.
  async:
    description: Can run with the C(async) keyword.
    support: none
  action_group:
    description: Part of the C(hostup.cloud.all) action group, so C(module_defaults) for C(group/hostup.cloud.all) apply.
    support: full
    membership:
      - hostup.cloud.all
requirements:
  - requests (on the controller)
notes:
  - The API calls run on the controller, inside the Ansible worker, whatever host the task targets;
    the task's C(environment) keyword still supplies E(HOSTUP_API_KEY), E(HOSTUP_API_URL) and proxy variables
    (E(HTTPS_PROXY), E(ALL_PROXY), E(NO_PROXY)) and E(REQUESTS_CA_BUNDLE) for that task only.
  - Run as a module process instead (without the collection's action plugins), a module gives the same
    results, warnings and failures; the collection's tests compare both ways on every supported ansible-core
    release.
"""

    # An info module: it only reads, so check mode changes nothing about what it does.
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details:
      - Only reads; runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
"""
