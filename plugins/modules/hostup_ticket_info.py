#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: hostup_ticket_info
short_description: Read HostUp support tickets
version_added: 0.1.0
description:
  - Reads one support ticket by id (the full detail, with its messages), or lists the account's tickets
    (summaries), following every page.
  - Needs an API key with the C(read:support) scope.
author:
  - hostup.cloud maintainers (@hostup-cloud)
extends_documentation_fragment:
  - hostup.cloud.api
  - hostup.cloud.attributes
  - hostup.cloud.attributes.info_module
options:
  id:
    description:
      - Public ticket id (V(tkt_...)) or numeric ticket number. An unknown ticket gives an empty list.
    type: str
  status:
    description:
      - Only tickets with this status.
    type: str
    choices: [open, answered, customer_reply, in_progress, on_hold, closed]
  department_slug:
    description:
      - Only tickets of this department.
    type: str
seealso:
  - module: hostup.cloud.hostup_ticket_state
"""

EXAMPLES = r"""
- name: List the open tickets of the VPS department
  hostup.cloud.hostup_ticket_info:
    status: open
    department_slug: vps
  register: open_tickets

- name: Read one ticket with its messages
  hostup.cloud.hostup_ticket_info:
    id: "149943"
  register: one
"""

RETURN = r"""
tickets:
  description:
    - The tickets with snake_case keys. With O(id), a list of at most one detailed ticket
      (with C(body), C(messages), C(attachments)); otherwise summaries.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Public ticket id.
      type: str
      returned: always
      sample: tkt_01hxa3b4c5d6e7f8g9h0j1k2m3
    number:
      description: Customer-facing ticket number.
      type: str
      returned: always
      sample: "149943"
    subject:
      description: Subject.
      type: str
      returned: always
    status:
      description: Status.
      type: str
      returned: always
      sample: open
    priority:
      description: Priority.
      type: str
      returned: always
    department_slug:
      description: Department slug.
      type: str
      returned: always
    messages:
      description: The conversation.
      type: list
      elements: dict
      returned: with O(id)
"""

from ansible_collections.hostup.cloud.plugins.module_utils._module_support import ModuleInterface
from ansible_collections.hostup.cloud.plugins.module_utils._tickets import TICKET_STATUSES, ticket_info


def run_task(client, params, check_mode):
    """One ticket by id, or the filtered list (see _tickets.py)."""
    return ticket_info(client, ticket_id=params["id"], status=params["status"],
                       department_slug=params["department_slug"])


INTERFACE = ModuleInterface(
    name="hostup.cloud.hostup_ticket_info",
    options=dict(
        id=dict(type="str"),
        status=dict(type="str", choices=list(TICKET_STATUSES)),
        department_slug=dict(type="str"),
    ),
    run_task=run_task,
)


def main():
    INTERFACE.run_as_module()


if __name__ == "__main__":
    main()
