# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The bridge between Ansible and the client: shared options, building the client, reporting failures."""

from __future__ import annotations

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_CORE_VERSION
from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.hostup.cloud.plugins.module_utils._client import (
    DEFAULT_API_URL,
    HAS_REQUESTS,
    HostupClient,
    HostupError,
)
from ansible_collections.hostup.cloud.plugins.module_utils._rate_gate import RateGate
from ansible_collections.hostup.cloud.plugins.module_utils._version import COLLECTION_VERSION

USER_AGENT = "hostup.cloud/%s ansible-core/%s" % (COLLECTION_VERSION, ANSIBLE_CORE_VERSION)


def api_argument_spec():
    """The connection options every module and action shares (documented by the hostup.cloud.api fragment)."""
    return dict(
        api_key=dict(type="str", required=True, no_log=True, aliases=["api_token"],
                     fallback=(env_fallback, ["HOSTUP_API_KEY"])),
        api_url=dict(type="str", default=DEFAULT_API_URL, fallback=(env_fallback, ["HOSTUP_API_URL"])),
        api_timeout=dict(type="int", default=30),
        api_retries=dict(type="int", default=5),
        validate_certs=dict(type="bool", default=True),
    )


def argument_spec(**module_options):
    """The shared connection options plus a module's own."""
    spec = api_argument_spec()
    spec.update(module_options)
    return spec


def sent_api_key(params):
    """The key as the client sends it (without surrounding blanks), to be masked as well as the value given:
    an API that echoes the key echoes this one."""
    key = params.get("api_key")
    return key.strip() if isinstance(key, str) and key.strip() else None


def client_from_params(params, proxies=None, ca_bundle=None):
    return HostupClient(
        api_key=params["api_key"],
        api_url=params["api_url"],
        timeout=params["api_timeout"],
        retries=params["api_retries"],
        validate_certs=params["validate_certs"],
        user_agent=USER_AGENT,
        proxies=proxies,
        ca_bundle=ca_bundle,
        rate_gate=RateGate.for_key(params["api_url"], params["api_key"]),
    )


def run_module(module, run_task):
    """Build the client, run ``run_task(client, params, check_mode)`` and exit: a failure is one clear line."""
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"))
    key = sent_api_key(module.params)
    if key:
        module.no_log_values.add(key)
    try:
        with client_from_params(module.params) as client:
            result = run_task(client, module.params, module.check_mode)
    except HostupError as exc:
        module.fail_json(msg=str(exc), **exc.to_result())
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)
