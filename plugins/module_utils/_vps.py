# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading VPSes and turning a name or an IP address into one VPS."""

from __future__ import annotations

import re

from ansible_collections.hostup.cloud.plugins.module_utils._client import (
    HostupApiError,
    HostupInputError,
    path_id,
    snake_case,
)

VPS_LIST_PATH = "/api/v2/vps"
# The scope every VPS read needs.
SCOPE_READ_VM = "read:vm"
_VPS_ID = re.compile(r"^vps_[A-Za-z0-9]{1,64}$")


def vps_path_id(value):
    """Validate a public VPS id and return it ready for a URL path."""
    return path_id(value, _VPS_ID, "a VPS id must look like vps_<letters and digits>")


def get_vps(client, vps_id):
    """One VPS by its public id (snake_case keys), or None when HostUp does not know it."""
    path = "%s/%s" % (VPS_LIST_PATH, vps_path_id(vps_id))
    try:
        return snake_case(client.get(path, scope=SCOPE_READ_VM))
    except HostupApiError as exc:
        if exc.status == 404:
            return None
        raise


def list_vps(client, name=None, primary_ip=None):
    """Every VPS of the account (all pages), filtered by the API's own name / primaryIp filters."""
    query = {}
    if name is not None:
        query["name"] = name
    if primary_ip is not None:
        query["primaryIp"] = primary_ip
    return [snake_case(item) for item in client.paginate(VPS_LIST_PATH, query=query, scope=SCOPE_READ_VM)]


def describe_vps(vps):
    return "%s (name %s, primary IP %s)" % (vps.get("id"), vps.get("name"), vps.get("primary_ip"))


def resolve_vps(client, vps_id=None, vps_name=None, ip_address=None):
    """Return the one VPS the caller means, as a dict with at least ``id``.

    With ``vps_id`` nothing is sent (the port 25 POST itself answers 404 for an unknown id), so a
    request by id costs exactly one API call. A name is compared exactly (case-sensitively) with
    what the API's case-insensitive ``name`` filter returns.
    """
    if vps_id is not None:
        vps_path_id(vps_id)
        return {"id": vps_id, "name": None, "primary_ip": None}
    if vps_name is not None:
        if not vps_name.strip():
            raise HostupInputError("vps_name must not be empty")
        found = list_vps(client, name=vps_name)
        exact = [vps for vps in found if vps.get("name") == vps_name]
        if not exact:
            if found:
                raise HostupInputError(
                    "no VPS is named exactly %r; names differing only in case: %s" % (
                        vps_name, ", ".join(describe_vps(v) for v in found)))
            raise HostupInputError("no VPS named %r in this account" % vps_name)
        return _only_one(exact, "named %r" % vps_name)
    if ip_address is not None:
        if not ip_address.strip():
            raise HostupInputError("ip_address must not be empty")
        found = [vps for vps in list_vps(client, primary_ip=ip_address) if vps.get("primary_ip") == ip_address]
        if not found:
            raise HostupInputError("no VPS with primary IP %s in this account" % ip_address)
        return _only_one(found, "with primary IP %s" % ip_address)
    raise HostupInputError("one of vps_id, vps_name or ip_address is required")


def _only_one(matches, what):
    if len(matches) > 1:
        raise HostupInputError("%d VPSes are %s; use vps_id to pick one: %s" % (
            len(matches), what, "; ".join(describe_vps(v) for v in matches)))
    return matches[0]


def vps_info(client, vps_id=None, name=None, primary_ip=None):
    """The task result of hostup_vps_info: every VPS that matches all the given filters (exact comparison)."""
    if vps_id is not None:
        vps = get_vps(client, vps_id)
        found = [vps] if vps is not None else []
    else:
        found = list_vps(client, name=name, primary_ip=primary_ip)
    if name is not None:
        found = [vps for vps in found if vps.get("name") == name]
    if primary_ip is not None:
        found = [vps for vps in found if vps.get("primary_ip") == primary_ip]
    return {"changed": False, "vps": found}
