# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Running a module's declared interface inside the controller: the one bridge every action plugin uses.

An API module needs no managed host: sending it there (or to localhost) costs a new interpreter,
the AnsiballZ payload and ``import requests`` for every host. An action plugin runs in the Ansible
worker instead, and this bridge makes that invisible: it validates the task's arguments against the
module's ``ModuleInterface`` (the same spec and constraints its ``main()`` gives AnsibleModule),
reads env fallbacks from the environment the module process would have had, masks no_log values,
and reports warnings, check mode, diff and failures as AnsibleModule would. A table-driven test
(tests/unit/plugins/action/test_parity.py) runs the same tasks both ways and compares the results.
"""

from __future__ import annotations

import json
import os
import sys

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

# Imported here, at plugin load, so that the strategy's class-only load in the parent process pays
# for `requests` once and every forked worker inherits it.
from ansible_collections.hostup.cloud.plugins.module_utils._client import HAS_REQUESTS
from ansible_collections.hostup.cloud.plugins.module_utils._connection import nonempty_env_fallback, sent_api_key
from ansible_collections.hostup.cloud.plugins.module_utils._module_support import (
    bug_message,
    run_task_safely,
)

ALIAS_WARNING = "Both option {option} and its alias {alias} are set."

try:  # ansible-core 2.19 and later: the encoder that serialises a module process's arguments
    from ansible.module_utils.common.json import Direction, get_module_encoder
except ImportError:  # ansible-core 2.18
    from ansible.module_utils.common.json import AnsibleJSONEncoder

    def as_module_arguments(args):
        """``args`` as a module process receives them: through JSON, vaulted values decrypted."""
        return json.loads(json.dumps(args, cls=AnsibleJSONEncoder, vault_to_text=True))
else:
    _MODULE_ENCODER = get_module_encoder("legacy", Direction.CONTROLLER_TO_MODULE)

    def as_module_arguments(args):
        """``args`` as a module process receives them: through JSON, as plain types."""
        return json.loads(json.dumps(args, cls=_MODULE_ENCODER))


class HostupAction(ActionBase):
    """Runs the ``ModuleInterface`` named by ``INTERFACE`` in the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_async = False

    INTERFACE = None

    def __init__(self, *args, **kwargs):
        super(HostupAction, self).__init__(*args, **kwargs)
        self._supports_check_mode = self.INTERFACE.supports_check_mode

    def run(self, tmp=None, task_vars=None):
        result = super(HostupAction, self).run(tmp, task_vars)
        del tmp
        no_log_values = set()
        try:
            result.update(self.run_interface(no_log_values, task_vars or {}))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # never `Task failed: '<text>'`
            result.update(failed=True, msg=bug_message(self.INTERFACE.name, exc))
            # Should it fail before validation, the key as given is still masked.
            no_log_values.update(value for name, value in self._task.args.items()
                                 if name in ("api_key", "api_token") and isinstance(value, str) and value.strip())
        return remove_values(result, no_log_values) if no_log_values else result

    def run_interface(self, no_log_values, task_vars):
        """Validate, run and return the task's result; fills ``no_log_values`` for the caller to mask."""
        environ = self.task_environment()
        params, warnings, error = validate_arguments(self.INTERFACE, as_module_arguments(dict(self._task.args)),
                                                     environ, no_log_values, module_name=self._task.action)
        # AnsibleModule reports the arguments as validated so far even when validation failed.
        result = {"invocation": {"module_args": params}} if self.reports_invocation(task_vars) else {}
        if warnings:
            result["warnings"] = warnings
        if error:
            result.update(failed=True, msg=error)
            return result
        if not HAS_REQUESTS:
            result.update(failed=True, msg="Failed to import the required Python library (requests) on the "
                                           "controller's Python %s" % sys.executable)
            return result
        collected = []
        outcome = run_task_safely(self.INTERFACE, params, environ, bool(self._task.check_mode), collected.append,
                                  progress=self._display.v)
        collected.extend(outcome.pop("warnings", []))
        if collected:
            result.setdefault("warnings", []).extend(collected)
        result.update(outcome)
        return result

    def reports_invocation(self, task_vars):
        """Whether a module process would return ``invocation``: always before ansible-core 2.21, which made it
        the INJECT_INVOCATION setting (``ansible_inject_invocation``)."""
        try:
            return bool(C.config.get_config_value("INJECT_INVOCATION", variables=task_vars, templar=self._templar))
        except (AnsibleError, TypeError):  # a release without the setting (nor the templar argument)
            return True

    def task_environment(self):
        """The environment a module process would get: the controller's, overlaid by the task's `environment:`."""
        merged = dict(os.environ)
        entries = self._task.environment
        if entries is None:
            return merged
        if not isinstance(entries, list):
            entries = [entries]
        for entry in entries:
            if not entry:
                continue
            values = self._templar.template(entry)
            if isinstance(values, dict):
                merged.update((str(k), str(v)) for k, v in values.items() if v is not None)
        return merged


def validate_arguments(interface, args, environ, no_log_values, module_name):
    """Validate ``args`` as AnsibleModule would for ``interface``; return (params, warnings, error message).

    Env fallbacks are read from ``environ`` rather than this process's ``os.environ``.

    The one place that reads private attributes: ansible-core has no public way to get what the
    validation found to mask (``_no_log_values``: no_log options, fallback values included) or the
    alias warnings (``_warnings``, ``{option, alias}`` dicts that AnsibleModule turns into the
    sentence below). Checked on ansible-core 2.18, 2.19, 2.20 and 2.21; the parity test compares
    both paths on every release CI runs.
    """
    spec = with_environment(interface.argument_spec(), environ)
    validator = ArgumentSpecValidator(spec, **interface.constraints)
    validation = validator.validate(dict(args))
    params = validation.validated_parameters
    no_log_values.update(validation._no_log_values)  # pylint: disable=protected-access
    key = sent_api_key(params)
    if key:
        no_log_values.add(key)
    warnings = [ALIAS_WARNING.format(option=item["option"], alias=item["alias"])
                for item in validation._warnings]  # pylint: disable=protected-access
    if validation.error_messages:
        msg = validation.errors.msg
        if isinstance(validation.errors[0], UnsupportedError):
            msg = "Unsupported parameters for (%s) module: %s" % (module_name, msg)
        return params, warnings, msg
    return params, warnings, None


def with_environment(spec, environ):
    """``spec`` with each env fallback reading ``environ`` instead of os.environ (nested specs too)."""
    for option in spec.values():
        fallback = option.get("fallback")
        if fallback and fallback[0] is nonempty_env_fallback:
            names = [item for item in fallback[1:] if not isinstance(item, dict)]
            option["fallback"] = (nonempty_env_fallback, names[0] if names else [], {"environ": environ})
        if isinstance(option.get("options"), dict):
            with_environment(option["options"], environ)
    return spec
