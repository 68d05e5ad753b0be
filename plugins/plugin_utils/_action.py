# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Running a module's logic inside the controller: the shell every hostup.cloud action plugin shares.

An API module needs no managed host: sending it there (or to localhost) costs a new interpreter,
the AnsiballZ payload and ``import requests`` for every host. An action plugin runs in the
Ansible worker instead, and this module makes that invisible to the user: the same argument spec
(taken from the module file), the same env fallbacks (read from the task's ``environment:`` as a
module process would see it), the same no_log scrubbing, check mode, diff and error results.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from urllib.parse import urlsplit

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

# Imported here, at plugin load, so that the strategy's class-only load in the parent process pays
# for `requests` once and every forked worker inherits it.
from ansible_collections.hostup.cloud.plugins.module_utils._client import HAS_REQUESTS, HostupError
from ansible_collections.hostup.cloud.plugins.module_utils._module_support import (
    argument_spec,
    client_from_params,
    sent_api_key,
)

PROXY_VARIABLES = ("https_proxy", "http_proxy", "no_proxy", "all_proxy")


class HostupAction(ActionBase):
    """Runs the module named by ``MODULE`` (its OPTIONS, MUTUALLY_EXCLUSIVE, REQUIRED_ONE_OF and run_task)."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    MODULE = None

    def run(self, tmp=None, task_vars=None):
        result = super(HostupAction, self).run(tmp, task_vars)
        del tmp
        environment = self.task_environment()
        params, no_log_values, error = self.validate_params(environment)
        if error:
            result.update(failed=True, msg=error)
            return scrub(result, no_log_values)
        result["invocation"] = {"module_args": params}
        if not HAS_REQUESTS:
            result.update(failed=True, msg="Failed to import the required Python library (requests) on the "
                                           "controller's Python %s" % sys.executable)
            return scrub(result, no_log_values)
        try:
            proxies = proxies_from(environment, params["api_url"])
            ca_bundle = environment.get("REQUESTS_CA_BUNDLE") or environment.get("CURL_CA_BUNDLE")
            with client_from_params(params, proxies=proxies, ca_bundle=ca_bundle) as client:
                outcome = self.MODULE.run_task(client, params, bool(self._task.check_mode))
        except HostupError as exc:
            result.update(failed=True, msg=str(exc), **exc.to_result())
            return scrub(result, no_log_values)
        warnings = outcome.pop("warnings", [])
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
        result.update(outcome)
        return scrub(result, no_log_values)

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

    def validate_params(self, environment):
        """Validate the task's arguments against the module's own spec, env fallbacks read from ``environment``."""
        spec = argument_spec(**self.MODULE.OPTIONS)
        args = dict(self._task.args)
        spec = apply_env_fallbacks(spec, args, environment)
        validator = ArgumentSpecValidator(spec, mutually_exclusive=getattr(self.MODULE, "MUTUALLY_EXCLUSIVE", None),
                                          required_one_of=getattr(self.MODULE, "REQUIRED_ONE_OF", None))
        validation = validator.validate(args)
        no_log_values = set(validation._no_log_values)
        key = sent_api_key(validation.validated_parameters)
        if key:
            no_log_values.add(key)
        for warning in validation._warnings:
            self._display.warning(warning["warning"] if isinstance(warning, dict) else str(warning))
        if validation.error_messages:
            first = validation.errors[0]
            msg = validation.errors.msg
            if isinstance(first, UnsupportedError):
                msg = "Unsupported parameters for (%s) module: %s" % (self._task.action, msg)
            return None, no_log_values, msg
        return validation.validated_parameters, no_log_values, None


def apply_env_fallbacks(spec, args, environment):
    """Fill options left unset from ``environment`` (as env_fallback would from os.environ) and drop the fallbacks.

    Reading ``os.environ`` here would miss the task's ``environment:`` keyword, so each option's
    fallback variables are looked up in the merged environment instead.
    """
    given = set(args)
    resolved = {}
    for name, option in spec.items():
        option = dict(option)
        fallback = option.pop("fallback", None)
        resolved[name] = option
        names = [name] + list(option.get("aliases") or [])
        if fallback is None or given.intersection(names):
            continue
        for variable in fallback[1] if len(fallback) > 1 else ():
            if variable in environment:
                args[name] = environment[variable]
                break
    return resolved


def proxies_from(environment, api_url):
    """requests' proxies for the API from the task's environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY).

    Lower-case names win over upper-case ones, as with curl and requests. An empty mapping means no proxy.
    """
    values = {}
    for key, value in environment.items():
        name = key.lower()
        if name in PROXY_VARIABLES and value and (key == name or name not in values):
            values[name] = value
    host = urlsplit(api_url).hostname or ""
    if bypasses_proxy(host, values.get("no_proxy", "")):
        return {}
    proxies = {}
    for scheme in ("http", "https"):
        value = values.get("%s_proxy" % scheme) or values.get("all_proxy")
        if value:
            proxies[scheme] = value
    return proxies


def bypasses_proxy(host, no_proxy):
    """Whether NO_PROXY names ``host``: ``*``, the host itself, a parent domain, or an address range."""
    host = host.lower().strip("[]")
    for entry in (item.strip().lower() for item in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        domain = entry.lstrip(".")
        if host == domain or host.endswith("." + domain):
            return True
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def scrub(result, no_log_values):
    """Remove every no_log value (the API key) from the result, as AnsibleModule does for a module's output."""
    if not no_log_values:
        return result
    return remove_values(result, no_log_values)
