#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: hostup_vps_info
short_description: List the VPSes of a HostUp account
version_added: 0.1.0
description:
  - Lists the account's VPSes, following every page of C(GET /api/v2/vps), or reads one by id.
  - Filters compare exactly; all given filters must match.
  - Needs an API key with the C(read:vm) scope.
author:
  - hostup.cloud maintainers (@hostup-cloud)
extends_documentation_fragment:
  - hostup.cloud.api
  - hostup.cloud.attributes
  - hostup.cloud.attributes.info_module
options:
  id:
    description:
      - Public id of one VPS (V(vps_...)). An unknown id gives an empty list.
    type: str
  name:
    description:
      - Only the VPSes with exactly this display name (case-sensitive).
    type: str
  primary_ip:
    description:
      - Only the VPS with this primary IP address.
    type: str
seealso:
  - module: hostup.cloud.hostup_port25_request
  - plugin: hostup.cloud.vps
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: Find the mail server's VPS
  hostup.cloud.hostup_vps_info:
    name: mail-01
  register: found

- name: Show its id
  ansible.builtin.debug:
    msg: "{{ found.vps[0].id }}"
"""

RETURN = r"""
vps:
  description: The matching VPSes with snake_case keys, in the API's order.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Public id.
      type: str
      returned: always
      sample: vps_01hxa3b4c5d6e7f8g9h0j1k2m3
    name:
      description: Display name.
      type: str
      returned: always
      sample: mail-01
    primary_ip:
      description: Primary IP address, or V(null).
      type: str
      returned: always
      sample: 192.0.2.10
    service_status:
      description: V(active), V(suspended), V(terminated), V(pending), V(cancelled), V(expired), V(fraud) or V(unknown).
      type: str
      returned: always
    power_state:
      description: V(running), V(stopped), V(provisioning) and others, or V(null).
      type: str
      returned: always
    operating_system:
      description: C(display_name), C(family), C(version), C(variant), or V(null).
      type: dict
      returned: when HostUp returns it
    billing:
      description: C(amount), C(currency_code), C(billing_cycle), C(is_payg), C(period_years).
      type: dict
      returned: when HostUp returns it
    resources:
      description: C(cpu_cores), C(memory_gb), C(storage_gb).
      type: dict
      returned: when HostUp returns it
    tags:
      description: Tags.
      type: list
      elements: raw
      returned: when HostUp returns it
"""

from ansible_collections.hostup.cloud.plugins.module_utils._module_support import ModuleInterface
from ansible_collections.hostup.cloud.plugins.module_utils._vps import vps_info


def run_task(client, params, check_mode):
    """Every VPS matching all the given filters (see _vps.py)."""
    return vps_info(client, vps_id=params["id"], name=params["name"], primary_ip=params["primary_ip"])


INTERFACE = ModuleInterface(
    name="hostup.cloud.hostup_vps_info",
    options=dict(
        id=dict(type="str"),
        name=dict(type="str"),
        primary_ip=dict(type="str"),
    ),
    run_task=run_task,
)


def main():
    INTERFACE.run_as_module()


if __name__ == "__main__":
    main()
