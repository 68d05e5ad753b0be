# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A module's interface, declared once, and running it as a module process.

Each module file builds one ``ModuleInterface``: its own options, every constraint, check-mode
support and ``run_task(client, params, check_mode)``. The module's ``main()`` hands it to
``run_as_module``; the controller-side bridge (plugins/plugin_utils/_action.py) reads the very same
object. Neither lists an option or a constraint of its own.
"""

from __future__ import annotations

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hostup.cloud.plugins.module_utils._client import HAS_REQUESTS, HostupError, mask_secret
from ansible_collections.hostup.cloud.plugins.module_utils._connection import (
    connect,
    connection_options,
    sent_api_key,
)

CONSTRAINTS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")

BUG_REPORT_URL = "https://github.com/hostup-cloud/ansible-collection-hostup/issues"


class ModuleInterface(object):
    """What a module accepts and does: options, constraints, check-mode support and the work itself."""

    def __init__(self, name, options, run_task, supports_check_mode=True, **constraints):
        unknown = set(constraints) - set(CONSTRAINTS)
        if unknown:
            raise TypeError("unknown constraint(s): %s" % ", ".join(sorted(unknown)))
        self.name = name
        self.options = options
        self.run_task = run_task
        self.supports_check_mode = supports_check_mode
        self.constraints = dict((key, value) for key, value in constraints.items() if value)

    def argument_spec(self):
        """The shared connection options plus the module's own (a fresh dict each time)."""
        spec = connection_options()
        spec.update(self.options)
        return spec

    def run_as_module(self):
        """The module's main(): validate like any module, run the task, exit with its result."""
        module = AnsibleModule(argument_spec=self.argument_spec(), supports_check_mode=self.supports_check_mode,
                               **self.constraints)
        if not HAS_REQUESTS:
            module.fail_json(msg=missing_required_lib("requests"))
        key = sent_api_key(module.params)
        if key:
            module.no_log_values.add(key)
        # Lines about waits (rate limits, a VPS not ready yet) are shown at -v by the controller-side
        # action as they happen; a module process can only hand them back, as warnings, at -v.
        progress = module.warn if module._verbosity >= 1 else None  # pylint: disable=protected-access
        outcome = run_task_safely(self, module.params, dict(os.environ), module.check_mode, module.warn,
                                  progress=progress)
        exception = outcome.pop("exception", None)
        for warning in outcome.pop("warnings", []):
            module.warn(warning)
        if outcome.get("failed"):
            outcome.pop("failed")
            msg = outcome.pop("msg")
            if exception:
                outcome["exception"] = exception
            module.fail_json(msg=msg, **outcome)
        module.exit_json(**outcome)


def bug_message(name, exc):
    """The one line for an exception nobody expected: what failed, how, and where to report it."""
    return "%s failed unexpectedly (%s: %s). This is a bug in the hostup.cloud collection; please report it at %s" % (
        name, type(exc).__name__, " ".join(str(exc).split())[:300], BUG_REPORT_URL)


def run_task_safely(interface, params, environ, check_mode, warn, progress=None):
    """Build the client and run the task; every failure comes back as a result, never as an exception.

    An expected failure (HostupError) is its one line; anything else is a bug, reported in one line
    that names the module and asks for a report (the traceback goes in ``exception``, which Ansible
    shows only at -vvv).
    """
    key = sent_api_key(params)
    try:
        with connect(params, environ=environ, warn=warn) as client:
            client.progress = progress
            outcome = interface.run_task(client, params, check_mode)
    except HostupError as exc:
        outcome = dict(exc.to_result(), failed=True, msg=mask_secret(str(exc), key))
    except Exception as exc:  # pylint: disable=broad-exception-caught  # a bug must still end as one clear line
        outcome = {
            "failed": True,
            "msg": mask_secret(bug_message(interface.name, exc), key),
            "exception": mask_secret(traceback.format_exc(), key),
        }
    return outcome
