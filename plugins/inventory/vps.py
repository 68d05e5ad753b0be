# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: vps
short_description: Every VPS of a HostUp account as an inventory host
version_added: 0.1.0
description:
  - Reads the VPSes of a HostUp account with C(GET /api/v2/vps), following every page, and adds one
    host per VPS, with the VPS id in C(hostup_vps_id) and C(ansible_host) set to its primary IP address.
  - With those host variables the P(hostup.cloud.port25_unblock#role) role files each host's port 25
    request with one API call and no id written by hand.
  - Configured by a YAML file whose name ends in C(hostup.yml) or C(hostup.yaml), for example
    C(inventory.hostup.yml), that sets O(plugin) to V(hostup.cloud.vps).
  - Needs an API key with the C(read:vm) scope.
  - A failed API call stops the source with one line that says why (HTTP 401 with a hint about the key,
    an unreachable API, a missing scope). Whether that fails the whole run is Ansible's choice
    (see the C(INVENTORY_UNPARSED_IS_FAILED) and C(INVENTORY_ANY_UNPARSED_IS_FAILED) settings).
author:
  - hostup.cloud maintainers (@hostup-cloud)
requirements:
  - requests (on the controller)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description:
      - Marks the file as a source for this plugin.
    type: str
    required: true
    choices: [hostup.cloud.vps]
  api_key:
    description:
      - 'HostUp API key, sent as C(Authorization: Bearer <key>).'
      - May be a vaulted string (C(!vault)) or a template, for example V({{ vault_hostup_api_key }}) with the
        variable given as an extra var.
      - The key never appears in the inventory, warnings, failure messages or logs, C(-vvvv) included.
    type: str
    required: true
    env:
      - name: HOSTUP_API_KEY
  api_url:
    description:
      - Base URL of the HostUp API.
      - Plain C(http://) is refused unless the host is loopback (V(127.0.0.1), V(::1), V(localhost)), so the key
        never crosses a network in clear text; this lets the bundled simulator stand in for HostUp in tests.
    type: str
    default: https://cloud.hostup.se
    env:
      - name: HOSTUP_API_URL
  api_timeout:
    description:
      - Seconds to wait for each HTTP request.
    type: int
    default: 30
  api_retries:
    description:
      - How many times a rate-limited (HTTP 429) or transiently failed request is retried, with the same rules
        as the modules (C(Retry-After), then C(X-RateLimit-Reset), else exponential backoff with jitter).
    type: int
    default: 5
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate. Turn off only for a test endpoint.
    type: bool
    default: true
  names:
    description:
      - Only the VPSes whose name matches one of these entries.
      - An entry without C(*), C(?) or C([) is a name, compared exactly and case-sensitively. Any other entry is a
        shell-style pattern (V(mail-*)), also case-sensitive.
      - When the list holds exactly one name and no pattern, the API's own name filter is used, so the
        answer is a single short page whatever the size of the account.
      - Empty means every VPS.
    type: list
    elements: str
    default: []
  power_states:
    description:
      - Only the VPSes whose power state is one of these, for example V(running), V(stopped) or V(provisioning).
      - Empty means any power state.
    type: list
    elements: str
    default: []
  service_statuses:
    description:
      - Only the VPSes whose service status is one of these, for example V(active) or V(suspended).
      - Empty means any service status.
    type: list
    elements: str
    default: []
  hostname:
    description:
      - Which field of the VPS becomes the inventory hostname.
      - When several VPSes would get the same hostname (two VPSes with one name), none of them keeps it;
        each becomes C(<name>_<id>), and a warning lists them.
      - With V(primary_ip), a VPS without a primary IP address is added under its name, with a warning.
    type: str
    choices: [name, id, primary_ip]
    default: name
  hostvar_prefix:
    description:
      - Prefix of the host variables that hold the VPS's fields.
      - The P(hostup.cloud.port25_unblock#role) role reads C(hostup_vps_id); keep the default when you use it.
    type: str
    default: hostup_
  connect_with:
    description:
      - What C(ansible_host) is set to. V(primary_ip) sets it to the primary IP address (a VPS without one
        gets no C(ansible_host)); V(name) sets it to the VPS name, for names that resolve in DNS.
      - To connect some other way, set C(ansible_host) (or C(ansible_connection)) with O(compose).
    type: str
    choices: [primary_ip, name]
    default: primary_ip
notes:
  - 'Each host gets every top-level field of the VPS object as a host variable, in snake_case with the
    O(hostvar_prefix): C(hostup_name), C(hostup_primary_ip), C(hostup_power_state), C(hostup_service_status),
    C(hostup_operating_system), C(hostup_billing), C(hostup_resources), C(hostup_tags) and any other field HostUp
    returns. Nested objects stay dictionaries. The VPS id is C(hostup_vps_id), and C(hostup_billing_cycle)
    repeats C(hostup_billing.billing_cycle) for grouping.'
  - With O(cache) on, a second run within O(cache_timeout) sends no request at all; C(ansible-playbook --flush-cache)
    reads the account again.
seealso:
  - module: hostup.cloud.hostup_vps_info
  - ref: ansible_collections.hostup.cloud.port25_unblock_role
    description: The role that files each host's port 25 unblock request; it reads C(hostup_vps_id).
  - name: HostUp VPS list API
    description: The endpoint this plugin reads.
    link: https://developer.hostup.se/endpoints/vps-services/get-v2-vps
"""

EXAMPLES = r"""
# inventory.hostup.yml: every VPS whose name starts with "mail-", in the group the mail_server.yml play
# targets. The key comes from the HOSTUP_API_KEY environment variable.
plugin: hostup.cloud.vps
names: ["mail-*"]
groups: {mail_servers: true}

---
# Only running VPSes, reached by name, grouped by operating system family and billing cycle.
plugin: hostup.cloud.vps
power_states: [running]
connect_with: name
keyed_groups:
  - key: hostup_operating_system.family
    prefix: os
  - key: hostup_billing_cycle
    prefix: billing

---
# Hosts named by VPS id, with the key from a vaulted extra var
# (ansible-inventory -i inventory.hostup.yml -e @vault.yml --ask-vault-pass --graph).
plugin: hostup.cloud.vps
hostname: id
api_key: "{{ vault_hostup_api_key }}"
compose:
  ansible_user: "'root'"

---
# A second run within an hour sends no request.
plugin: hostup.cloud.vps
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-hostup
cache_timeout: 3600
"""

import fnmatch

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.hostup.cloud.plugins.module_utils._client import (
    HostupClient,
    HostupError,
    validate_api_url,
)
from ansible_collections.hostup.cloud.plugins.module_utils._module_support import USER_AGENT
from ansible_collections.hostup.cloud.plugins.module_utils._vps import list_vps

PATTERN_CHARACTERS = frozenset("*?[")
CACHE_FORMAT = 1
MIN_MASKED_KEY_LENGTH = 8


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "hostup.cloud.vps"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("hostup.yml", "hostup.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        # Lets api_key be a template over extra vars (-e), as other inventory plugins allow.
        self.templar.available_variables = self._vars
        self._read_config_data(path)
        api_key = self._api_key()
        try:
            api_url = validate_api_url(self.get_option("api_url"))
            everything = self._read_vps(path, cache, api_key, api_url)
        except HostupError as exc:
            raise AnsibleParserError(_without(str(exc), api_key)) from None
        self._populate(self._matching(everything))

    # -- reading ------------------------------------------------------------------------------------
    def _api_key(self):
        """The key as plain text: a vaulted value is decrypted by the option's str type, a template rendered here."""
        value = self.get_option("api_key")
        if value is None:
            return None
        if isinstance(value, str) and self.templar.is_template(value):
            value = self.templar.template(value)
        return None if value is None else str(value)

    def _api_name_filter(self):
        """The one exact name the API can filter on, or None when the answer must be the whole account."""
        names = self.get_option("names") or []
        if len(names) == 1 and not PATTERN_CHARACTERS.intersection(names[0]):
            return names[0]
        return None

    def _read_vps(self, path, cache, api_key, api_url):
        """The VPS list, from the cache when allowed and fresh, else from the API (and then cached)."""
        use_cache = bool(self.get_option("cache"))
        source = {"format": CACHE_FORMAT, "api_url": api_url, "name": self._api_name_filter()}
        cache_key = self.get_cache_key(path)
        if use_cache and cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            # An entry written for another URL or name filter answers a different question.
            if isinstance(cached, dict) and cached.get("source") == source and isinstance(cached.get("vps"), list):
                return cached["vps"]
        with HostupClient(api_key=api_key, api_url=api_url, timeout=self.get_option("api_timeout"),
                          retries=self.get_option("api_retries"), validate_certs=self.get_option("validate_certs"),
                          user_agent=USER_AGENT) as client:
            found = list_vps(client, name=source["name"])
        if use_cache:
            self._cache[cache_key] = {"source": source, "vps": found}
        return found

    def _matching(self, everything):
        names = self.get_option("names") or []
        power_states = self.get_option("power_states") or []
        service_statuses = self.get_option("service_statuses") or []
        matching = []
        for vps in everything:
            name = vps.get("name")
            if names and not (isinstance(name, str) and any(fnmatch.fnmatchcase(name, entry) for entry in names)):
                continue
            if power_states and vps.get("power_state") not in power_states:
                continue
            if service_statuses and vps.get("service_status") not in service_statuses:
                continue
            matching.append(vps)
        return matching

    # -- building the inventory ---------------------------------------------------------------------
    def _populate(self, vps_list):
        strict = self.get_option("strict")
        for hostname, vps in self._hostnames(vps_list):
            self.inventory.add_host(hostname)
            for variable, value in self._host_variables(vps).items():
                self.inventory.set_variable(hostname, variable, wrap_var(value))
            host_vars = self.inventory.get_host(hostname).get_vars()
            self._set_composite_vars(self.get_option("compose"), host_vars, hostname, strict=strict)
            host_vars = self.inventory.get_host(hostname).get_vars()
            self._add_host_to_composed_groups(self.get_option("groups"), host_vars, hostname, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, hostname, strict=strict)

    def _hostnames(self, vps_list):
        """Pair each VPS with its inventory hostname; a hostname several VPSes would share gets each one's id."""
        choice = self.get_option("hostname")
        wanted = []
        without_ip = []
        for vps in vps_list:
            vps_id = str(vps.get("id"))
            name = vps.get("name") if isinstance(vps.get("name"), str) and vps.get("name") else vps_id
            if choice == "id":
                hostname = vps_id
            elif choice == "primary_ip":
                hostname = vps.get("primary_ip") or None
                if hostname is None:
                    without_ip.append("%s (%s)" % (name, vps_id))
                    hostname = name
            else:
                hostname = name
            wanted.append((str(hostname), vps_id, vps))
        if without_ip:
            self.display.warning("hostup.cloud.vps: hostname is primary_ip, but these VPSes have no primary IP "
                                 "address and are added under their name instead: %s" % ", ".join(without_ip))
        counts = {}
        for hostname, _vps_id, _vps in wanted:
            counts[hostname] = counts.get(hostname, 0) + 1
        shared = sorted(hostname for hostname, count in counts.items() if count > 1)
        if shared:
            self.display.warning(
                "hostup.cloud.vps: several VPSes share the hostname %s; each of them is added as "
                "<hostname>_<VPS id> instead. Rename them, or set hostname: id" % ", ".join(
                    "'%s' (%d)" % (hostname, counts[hostname]) for hostname in shared))
        return [("%s_%s" % (hostname, vps_id) if counts[hostname] > 1 else hostname, vps)
                for hostname, vps_id, vps in wanted]

    def _host_variables(self, vps):
        prefix = self.get_option("hostvar_prefix") or ""
        variables = {}
        for field, value in vps.items():
            variables[prefix + ("vps_id" if field == "id" else field)] = value
        billing = vps.get("billing")
        if isinstance(billing, dict) and "billing_cycle" in billing:
            variables[prefix + "billing_cycle"] = billing["billing_cycle"]
        address = vps.get("primary_ip") if self.get_option("connect_with") == "primary_ip" else vps.get("name")
        if address:
            variables["ansible_host"] = address
        return variables


def _without(text, secret):
    """The message with the key masked, should anything below ever quote it (a key too short to be real is
    left alone: masking one or two letters would garble the message instead)."""
    secret = (secret or "").strip()
    if len(secret) >= MIN_MASKED_KEY_LENGTH:
        text = text.replace(secret, "********")
    return text
