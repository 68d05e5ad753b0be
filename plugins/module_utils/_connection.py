# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection options every hostup.cloud task shares, and the one factory that turns them into a client.

Modules (as a module process), the controller-side actions and the inventory plugin all build their
HostupClient here, so each gets the same rate gate, proxies from its environment, CA bundle,
User-Agent and key handling. Only ``environ`` differs: a module process passes ``os.environ`` (its
environment already holds the task's ``environment:``), an action passes the controller's
environment overlaid by the task's, the inventory passes the controller's.
"""

from __future__ import annotations

import ipaddress
import os
import warnings
from urllib.parse import urlsplit

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_CORE_VERSION
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.hostup.cloud.plugins.module_utils._client import (
    DEFAULT_API_URL,
    HostupClient,
    HostupInputError,
    validate_api_url,
)
from ansible_collections.hostup.cloud.plugins.module_utils._rate_gate import RateGate
from ansible_collections.hostup.cloud.plugins.module_utils._version import COLLECTION_VERSION

USER_AGENT = "hostup.cloud/%s ansible-core/%s" % (COLLECTION_VERSION, ANSIBLE_CORE_VERSION)

PROXY_VARIABLES = ("https_proxy", "http_proxy", "no_proxy", "all_proxy")
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

INSECURE_WARNING = ("validate_certs is false: the TLS certificate of %s is not checked, so anyone on the network "
                    "path could read the API key")


def nonempty_env_fallback(*names, **kwargs):
    """An argument-spec fallback: the first of ``names`` set to a non-empty value in the environment.

    An empty value counts as unset, because AWX and AAP inject an empty string for a credential field
    left blank. ``environ`` (a keyword) replaces ``os.environ``: the controller-side bridge passes the
    environment the task would have had as a module process.
    """
    environ = kwargs.get("environ")
    if environ is None:
        environ = os.environ
    for name in names:
        value = environ.get(name)
        if value:
            return value
    raise AnsibleFallbackNotFound


def connection_options():
    """The connection options of every module (documented once, by the hostup.cloud.api doc fragment)."""
    return dict(
        api_key=dict(type="str", required=True, no_log=True, aliases=["api_token"],
                     fallback=(nonempty_env_fallback, ["HOSTUP_API_KEY"])),
        api_url=dict(type="str", default=DEFAULT_API_URL, fallback=(nonempty_env_fallback, ["HOSTUP_API_URL"])),
        api_timeout=dict(type="int", default=30),
        api_retries=dict(type="int", default=5),
        validate_certs=dict(type="bool", default=True),
    )


def sent_api_key(params):
    """The key as the client sends it (stripped), to be masked as well as the value given."""
    key = params.get("api_key")
    return key.strip() if isinstance(key, str) and key.strip() else None


def connect(params, environ=None, warn=None):
    """Build the HostupClient for ``params`` (the connection options) in the environment ``environ``.

    ``warn`` receives the one warning about unchecked certificates when ``validate_certs`` is false
    (urllib3's own warning is silenced: in a worker it would reach the terminal as stray stderr).
    """
    environ = os.environ if environ is None else environ
    api_url = validate_api_url(params.get("api_url") or DEFAULT_API_URL)
    client = HostupClient(
        api_key=params.get("api_key"),
        api_url=api_url,
        timeout=params.get("api_timeout"),
        retries=params.get("api_retries"),
        validate_certs=params.get("validate_certs", True),
        user_agent=USER_AGENT,
        proxies=proxies_for(environ, api_url),
        ca_bundle=ca_bundle_from(environ),
        rate_gate=RateGate.for_key(api_url, sent_api_key(params) or ""),
    )
    if not params.get("validate_certs", True):
        warnings.filterwarnings("ignore", message="Unverified HTTPS request")
        if warn is not None and client.base_url.startswith("https:"):
            warn(INSECURE_WARNING % client.base_url)
    return client


def ca_bundle_from(environ):
    for name in CA_BUNDLE_VARIABLES:
        if environ.get(name):
            return environ[name]
    return None


def proxies_for(environ, api_url):
    """requests' proxies for the API from ``environ`` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY).

    Lower-case names win over upper-case ones, as with curl and requests. An empty mapping means no
    proxy. Plain http (allowed only to a loopback host) never goes through a proxy: the key would
    cross the network in clear text to it.
    """
    try:
        parts = urlsplit(api_url)
        host = parts.hostname or ""
    except ValueError as exc:
        raise HostupInputError("api_url %r is not a valid URL (%s)" % (api_url, exc)) from None
    if parts.scheme != "https":
        return {}
    values = {}
    for key, value in environ.items():
        name = key.lower()
        if name in PROXY_VARIABLES and value and (key == name or name not in values):
            values[name] = value
    if bypasses_proxy(host, values.get("no_proxy", "")):
        return {}
    value = values.get("https_proxy") or values.get("all_proxy")
    return {"https": value} if value else {}


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
