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
  - Every option except the constructed ones (O(compose), O(groups), O(keyed_groups), ...) can also come from an
    environment variable, so the source variables of an AWX or AAP inventory source need only the O(plugin)
    line. The inventory's own options use C(HOSTUP_INVENTORY_<OPTION NAME IN CAPITALS>); the
    key and URL share E(HOSTUP_API_KEY) and E(HOSTUP_API_URL) with the modules. A value in the file wins over
    the environment, and an environment variable that is set but empty counts as not set.
  - An option name the plugin does not know (a typo such as C(hostvar_prefx)) fails the source with one line
    that names it and lists the valid options; it is never ignored.
  - Needs an API key with the C(read:vm) scope.
  - A failed API call stops the source with one line that says why (HTTP 401 with a hint about the key,
    an unreachable API, a missing scope). Whether that fails the whole run is Ansible's choice
    (see the C(INVENTORY_UNPARSED_IS_FAILED) and C(INVENTORY_ANY_UNPARSED_IS_FAILED) settings).
author:
  - hostup.cloud maintainers (@hostup-cloud)
requirements:
  - requests (on the controller)
extends_documentation_fragment:
  - hostup.cloud.api
  - constructed
  - inventory_cache
options:
  plugin:
    description:
      - Marks the file as a source for this plugin.
    type: str
    required: true
    choices: [hostup.cloud.vps]
  # The connection options are the modules' (the hostup.cloud.api fragment); the inventory
  # adds where each can come from in the environment.
  api_key:
    env:
      - name: HOSTUP_API_KEY
  api_url:
    env:
      - name: HOSTUP_API_URL
  api_timeout:
    env:
      - name: HOSTUP_INVENTORY_API_TIMEOUT
        version_added: 0.2.0
  api_retries:
    env:
      - name: HOSTUP_INVENTORY_API_RETRIES
        version_added: 0.2.0
  validate_certs:
    env:
      - name: HOSTUP_INVENTORY_VALIDATE_CERTS
        version_added: 0.2.0
  names:
    description:
      - Only the VPSes whose name matches one of these entries.
      - An entry without C(*), C(?) or C([) is a name, compared exactly and case-sensitively. Any other entry is a
        shell-style pattern (V(mail-*)), also case-sensitive.
      - When the list holds exactly one name and no pattern, the API's own name filter is used, so the
        answer is a single short page whatever the size of the account.
      - Empty means every VPS.
      - In the environment variable, a comma-separated list (V(mail-*,web-01)).
    type: list
    elements: str
    default: []
    env:
      - name: HOSTUP_INVENTORY_NAMES
        version_added: 0.2.0
  power_states:
    description:
      - Only the VPSes whose power state is one of these, for example V(running), V(stopped) or V(provisioning).
      - Empty means any power state.
      - In the environment variable, a comma-separated list.
    type: list
    elements: str
    default: []
    env:
      - name: HOSTUP_INVENTORY_POWER_STATES
        version_added: 0.2.0
  service_statuses:
    description:
      - Only the VPSes whose service status is one of these, for example V(active) or V(suspended).
      - Empty means any service status.
      - In the environment variable, a comma-separated list.
    type: list
    elements: str
    default: []
    env:
      - name: HOSTUP_INVENTORY_SERVICE_STATUSES
        version_added: 0.2.0
  tags:
    description:
      - Only the VPSes that carry every one of these tags (the VPS's C(tags) list). Tags are compared exactly
        and case-sensitively; a VPS may carry more tags than listed.
      - For the VPSes that carry any one of several tags, use an C(include) entry of O(filters) over
        C(hostup_tags) (see the examples).
      - Empty means any tags, none included.
      - In the environment variable, a comma-separated list.
    type: list
    elements: str
    default: []
    env:
      - name: HOSTUP_INVENTORY_TAGS
    version_added: 0.2.0
  filters:
    description:
      - Jinja2 conditions over each VPS's host variables (with O(hostvars_prefix) and O(hostvars_suffix)
        applied, and C(ansible_host)) that keep a VPS or leave it out. They are applied after O(names),
        O(power_states), O(service_statuses) and O(tags).
      - A list of entries, each a dictionary with exactly one key, O(filters[].include) or O(filters[].exclude).
        The entries are tried in order; the first one whose condition is true decides (an C(include) keeps the
        VPS, an C(exclude) leaves it out). A VPS no entry matches is kept. So one C(include) followed by an
        C(exclude) of V(true) keeps only the VPSes the C(include) matches.
      - A condition that cannot be evaluated (an undefined variable, a syntax error) fails the source with one
        line naming the condition and the VPS.
      - In the environment variable, the list as JSON (see the AWX example).
    type: list
    elements: dict
    default: []
    env:
      - name: HOSTUP_INVENTORY_FILTERS
    version_added: 0.2.0
    suboptions:
      include:
        description:
          - A Jinja2 condition (no C({{ }})), or a boolean. When true, the VPS is kept and later entries are
            not tried.
        type: raw
      exclude:
        description:
          - A Jinja2 condition (no C({{ }})), or a boolean. When true, the VPS is left out and later entries are
            not tried.
        type: raw
  group:
    description:
      - The group every host of this source is added to, besides the groups of O(groups) and O(keyed_groups).
      - An empty string in the file adds no such group (the hosts are then in C(ungrouped) unless constructed
        groups take them).
    type: str
    default: hostup
    env:
      - name: HOSTUP_INVENTORY_GROUP
    version_added: 0.2.0
  hostname:
    description:
      - The inventory hostname of each VPS. One of V(name) (the VPS name), V(id) (the VPS id) or V(primary_ip)
        (its primary IP address), or a Jinja2 template (a string containing C({{)) rendered over the VPS's host
        variables, with O(hostvars_prefix) and O(hostvars_suffix) applied, and the extra vars, for example
        V({{ hostup_name }}.example.com) or V({{ hostup_operating_system.family }}-{{ hostup_name }}).
      - When several VPSes would get the same hostname (two VPSes with one name), none of them keeps it;
        each becomes C(<hostname>_<VPS id>), and one warning lists them.
      - When the chosen hostname is empty (V(primary_ip) for a VPS without a primary IP address, or a template
        that renders to nothing), the VPS is added under its name, with one warning listing them.
    type: str
    default: name
    env:
      - name: HOSTUP_INVENTORY_HOSTNAME
        version_added: 0.2.0
  hostvars_prefix:
    description:
      - Prefix of the host variables that hold the VPS's fields.
      - The P(hostup.cloud.port25_unblock#role) role reads C(hostup_vps_id); keep the default (and an empty
        O(hostvars_suffix)) when you use it.
      - C(hostvar_prefix), the name of this option in 0.1.0, still works but is deprecated and will be removed
        in 1.0.0; each run that uses it shows a deprecation warning. Setting both names fails the source.
    type: str
    default: hostup_
    aliases: [hostvar_prefix]
    env:
      - name: HOSTUP_INVENTORY_HOSTVARS_PREFIX
    version_added: 0.2.0
  hostvars_suffix:
    description:
      - Suffix of the host variables that hold the VPS's fields, after the field name, so V(_hostup) gives
        C(name_hostup) and C(vps_id_hostup) with an empty O(hostvars_prefix).
    type: str
    default: ""
    env:
      - name: HOSTUP_INVENTORY_HOSTVARS_SUFFIX
    version_added: 0.2.0
  connect_with:
    description:
      - What C(ansible_host) is set to. V(primary_ip) sets it to the primary IP address (a VPS without one
        gets no C(ansible_host)); V(name) sets it to the VPS name, for names that resolve in DNS.
      - To connect some other way, set C(ansible_host) (or C(ansible_connection)) with O(compose).
    type: str
    choices: [primary_ip, name]
    default: primary_ip
    env:
      - name: HOSTUP_INVENTORY_CONNECT_WITH
        version_added: 0.2.0
notes:
  - O(api_key) may be a vaulted string (C(!vault)) or a template, for example V({{ vault_hostup_api_key }}) with the
    variable given as an extra var. The key never appears in the inventory, its cache, warnings, failure messages
    or logs, C(-vvvv) included; a key echoed in VPS data is masked.
  - With O(cache) on, the cache entry records a one-way hash of O(api_key) and O(api_url), never the key, so a run
    with another key (another account) reads the API again instead of reusing the cached hosts.
  - 'Each host gets every top-level field of the VPS object as a host variable, in snake_case with
    O(hostvars_prefix) before and O(hostvars_suffix) after: C(hostup_name), C(hostup_primary_ip),
    C(hostup_power_state), C(hostup_service_status), C(hostup_operating_system), C(hostup_billing),
    C(hostup_resources), C(hostup_tags) and any other field HostUp returns. Nested objects stay dictionaries.
    The VPS id is C(<prefix>vps_id<suffix>), C(hostup_vps_id) by default, and C(hostup_billing_cycle) repeats
    C(hostup_billing.billing_cycle) for grouping.'
  - With O(cache) on, a second run within O(cache_timeout) with the same key, URL and single-name O(names)
    filter sends no request at all; C(ansible-playbook --flush-cache) reads the account again.
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
# VPSes tagged both "mail" and "prod", named after a template, all in the group "mail_fleet".
plugin: hostup.cloud.vps
tags: [mail, prod]
group: mail_fleet
hostname: "{{ hostup_name }}.mail.example.com"

---
# Jinja2 filters: leave out suspended VPSes, keep the Debian ones and the one named web-01, nothing else.
plugin: hostup.cloud.vps
filters:
  - exclude: hostup_service_status == 'suspended'
  - include: hostup_operating_system.family == 'debian'
  - include: hostup_name == 'web-01'
  - exclude: true

---
# VPSes tagged "mail" or "web" (tags requires every listed tag; an include filter takes any of them).
plugin: hostup.cloud.vps
filters:
  - include: hostup_tags | intersect(['mail', 'web']) | length > 0
  - exclude: true

---
# AWX / AAP inventory source: the source variables hold only the plugin name; the rest comes from the
# environment (for example from a credential type), such as
#   HOSTUP_API_KEY=...  HOSTUP_INVENTORY_NAMES=mail-*,web-01  HOSTUP_INVENTORY_GROUP=hostup_awx
#   HOSTUP_INVENTORY_FILTERS='[{"exclude": "hostup_power_state != \"running\""}]'
plugin: hostup.cloud.vps

---
# A second run within an hour (same key and URL) sends no request.
plugin: hostup.cloud.vps
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-hostup
cache_timeout: 3600
"""

import difflib
import fnmatch
import hashlib
import json
import os
from collections.abc import Mapping

from ansible import constants as C
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var
from ansible.utils.vars import combine_vars

from ansible_collections.hostup.cloud.plugins.module_utils._client import (
    DEFAULT_API_URL,
    HostupError,
    mask_secret,
    validate_api_url,
)
from ansible_collections.hostup.cloud.plugins.module_utils._connection import connect
from ansible_collections.hostup.cloud.plugins.module_utils._module_support import bug_message
from ansible_collections.hostup.cloud.plugins.module_utils._vps import list_vps

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core 2.18 renders any string it is given: nothing to mark
    def trust_as_template(value):
        return value

PATTERN_CHARACTERS = frozenset("*?[")
# 2: the cached entry's source carries a digest of the key and URL.
CACHE_FORMAT = 2
HOSTNAME_FIELDS = ("name", "id", "primary_ip")
FILTER_KINDS = ("include", "exclude")
# Options renamed since 0.1.0, old name: new name. The old name is the new option's alias in DOCUMENTATION.
RENAMED_OPTIONS = {"hostvar_prefix": "hostvars_prefix"}
# Environment variables of this collection, whose empty value counts as unset.
OWN_ENV_PREFIX = "HOSTUP_"
KEY_DIGEST_LENGTH = 16


class ConfigurationError(Exception):
    """A setting (in the file or the environment) this plugin cannot use; the message is one line."""


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
            # Checked before anything is sent: a bad hostname or filter costs no request.
            settings = self._settings()
            # An empty HOSTUP_API_URL (AWX's blank credential field) counts as unset, as for the modules.
            api_url = validate_api_url(self.get_option("api_url") or DEFAULT_API_URL)
            everything = self._read_vps(path, cache, api_key, api_url)
            self._populate(self._matching(everything), settings)
        except (HostupError, ConfigurationError) as exc:
            raise AnsibleParserError(mask_secret(str(exc), api_key)) from None
        except AnsibleError:
            raise
        except Exception as exc:  # pylint: disable=broad-exception-caught  # one clear line, never a traceback
            raise AnsibleParserError(mask_secret(bug_message(self.NAME, exc), api_key)) from None

    # -- options ------------------------------------------------------------------------------------
    def _option_definitions(self):
        return C.config.get_configuration_definitions(plugin_type="inventory", name=self._load_name) or {}

    def _read_config_data(self, path):
        self._refuse_unknown_options(path)
        config = super(InventoryModule, self)._read_config_data(path)
        for old, new in sorted(RENAMED_OPTIONS.items()):
            if old in config and new in config:
                raise AnsibleParserError("hostup.cloud.vps: set only %s in %s; %s is its deprecated old name"
                                         % (new, path, old))
            if old in config:
                self.display.deprecated("hostup.cloud.vps: the option %s is deprecated; rename it to %s (%s)"
                                        % (old, new, path), version="1.0.0", collection_name="hostup.cloud")
        return config

    def _refuse_unknown_options(self, path):
        """Fail on a key of the file that names no option (nor an alias): Ansible itself ignores it."""
        try:
            config = self.loader.load_from_file(path, cache="none")
        except AnsibleError:
            return  # the base class reports what is wrong with the file itself
        valid_names = getattr(self, "_redirected_names", None) or [self.NAME]
        if not isinstance(config, Mapping) or config.get("plugin") not in valid_names:
            return
        definitions = self._option_definitions()
        known = set(definitions)
        for definition in definitions.values():
            known.update(definition.get("aliases") or [])
        unknown = sorted(str(name) for name in config if name not in known)
        if not unknown:
            return
        described = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(definitions), n=1)
            described.append("%s (did you mean %s?)" % (name, close[0]) if close else name)
        raise AnsibleParserError("hostup.cloud.vps: unknown option%s in %s: %s. Valid options: %s" % (
            "s" if len(unknown) > 1 else "", path, ", ".join(described), ", ".join(sorted(definitions))))

    def set_options(self, task_keys=None, var_options=None, direct=None):
        """As the base class, except that one of this collection's environment variables set to an empty
        string counts as unset (AWX and CI templates often export every variable, some of them empty)."""
        direct = dict(direct or {})
        blank = []
        for name, definition in self._option_definitions().items():
            env_names = [entry.get("name") for entry in definition.get("env") or []
                         if str(entry.get("name") or "").startswith(OWN_ENV_PREFIX)]
            if not env_names or any(key in direct for key in [name] + list(definition.get("aliases") or [])):
                continue
            values = [os.environ.get(env_name) for env_name in env_names]
            if any(value is not None for value in values) and not any(value and value.strip() for value in values):
                blank.append(name)
                if definition.get("default") is not None:
                    direct[name] = definition["default"]
        super(InventoryModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        for name in blank:
            if name not in direct:
                self._options[name] = None

    def _settings(self):
        """The options that shape the hosts, checked: the hostname choice or template and the parsed filters."""
        hostname = self.get_option("hostname")
        if hostname not in HOSTNAME_FIELDS and not (isinstance(hostname, str) and "{{" in hostname):
            raise ConfigurationError("hostup.cloud.vps: hostname must be name, id, primary_ip or a Jinja2 template "
                                     "(a string containing '{{'), not '%s'" % hostname)
        return {"hostname": hostname, "filters": self._filters()}

    def _filters(self):
        """The filters option as (include|exclude, condition) pairs; from the environment it is a JSON list."""
        value = self.get_option("filters")
        origin = str((getattr(self, "_origins", None) or {}).get("filters") or "")
        if origin.startswith("env: "):
            env_name = origin[len("env: "):]
            try:
                value = json.loads(os.environ.get(env_name, ""))
            except ValueError as exc:
                raise ConfigurationError("hostup.cloud.vps: %s must hold the filters as a JSON list, such as "
                                         "[{\"exclude\": \"hostup_power_state != 'running'\"}]: %s"
                                         % (env_name, exc)) from None
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigurationError("hostup.cloud.vps: filters must be a list of entries such as "
                                     "{include: CONDITION} or {exclude: CONDITION}")
        filters = []
        for number, entry in enumerate(value, 1):
            if not (isinstance(entry, Mapping) and len(entry) == 1 and list(entry)[0] in FILTER_KINDS
                    and isinstance(list(entry.values())[0], (str, bool))):
                raise ConfigurationError("hostup.cloud.vps: filters entry %d must be a dictionary with exactly one "
                                         "key, include or exclude, whose value is a Jinja2 condition or a boolean; "
                                         "got %s" % (number, json.dumps(entry, default=str)))
            kind, condition = list(entry.items())[0]
            filters.append((kind, condition if isinstance(condition, bool) else trust_as_template(condition)))
        return filters

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
        # The key's digest, never the key: the same file read with another account's key misses the cache.
        source = {"format": CACHE_FORMAT, "api_url": api_url, "name": self._api_name_filter(),
                  "key": _key_digest(api_key, api_url)}
        cache_key = self.get_cache_key(path)
        if use_cache and cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            # An entry written for another key, URL or name filter answers a different question.
            if isinstance(cached, dict) and cached.get("source") == source and isinstance(cached.get("vps"), list):
                return cached["vps"]
        params = dict((name, self.get_option(name)) for name in ("api_timeout", "api_retries", "validate_certs"))
        params.update(api_key=api_key, api_url=api_url)
        with connect(params, warn=self.display.warning) as client:
            # A key echoed in VPS data must not reach the inventory, its cache or the output.
            found = mask_secret(list_vps(client, name=source["name"]), api_key)
        if use_cache:
            self._cache[cache_key] = {"source": source, "vps": found}
        return found

    def _matching(self, everything):
        names = self.get_option("names") or []
        power_states = self.get_option("power_states") or []
        service_statuses = self.get_option("service_statuses") or []
        tags = set(self.get_option("tags") or [])
        matching = []
        for vps in everything:
            name = vps.get("name")
            if names and not (isinstance(name, str) and any(fnmatch.fnmatchcase(name, entry) for entry in names)):
                continue
            if power_states and vps.get("power_state") not in power_states:
                continue
            if service_statuses and vps.get("service_status") not in service_statuses:
                continue
            if tags and not tags.issubset(_tags_of(vps)):
                continue
            matching.append(vps)
        return matching

    # -- building the inventory ---------------------------------------------------------------------
    def _populate(self, vps_list, settings):
        strict = self.get_option("strict")
        group = self.get_option("group")
        if group:
            # The name Ansible really gave the group (it may replace characters a group name cannot hold).
            group = self.inventory.add_group(group)
        for hostname, variables in self._hosts(vps_list, settings):
            self.inventory.add_host(hostname, group=group or None)
            for variable, value in variables.items():
                self.inventory.set_variable(hostname, variable, value)
            host_vars = self.inventory.get_host(hostname).get_vars()
            self._set_composite_vars(self.get_option("compose"), host_vars, hostname, strict=strict)
            host_vars = self.inventory.get_host(hostname).get_vars()
            self._add_host_to_composed_groups(self.get_option("groups"), host_vars, hostname, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, hostname, strict=strict)

    def _hosts(self, vps_list, settings):
        """(hostname, host variables) of each VPS the filters keep; a hostname several VPSes would share gets
        each one's id."""
        choice = settings["hostname"]
        wanted = []
        without = []
        for vps in vps_list:
            variables = dict((name, wrap_var(value)) for name, value in self._host_variables(vps).items())
            vps_id = str(vps.get("id"))
            name = vps.get("name") if isinstance(vps.get("name"), str) and vps.get("name") else vps_id
            if not self._kept(settings["filters"], variables, name, vps_id):
                continue
            hostname = self._hostname(choice, vps, variables, name, vps_id)
            if not hostname:
                without.append("%s (%s)" % (name, vps_id))
                hostname = name
            wanted.append((hostname, vps_id, variables))
        if without and choice == "primary_ip":
            self.display.warning("hostup.cloud.vps: hostname is primary_ip, but these VPSes have no primary IP "
                                 "address and are added under their name instead: %s" % ", ".join(without))
        elif without:
            self.display.warning("hostup.cloud.vps: the hostname template renders empty for these VPSes, which are "
                                 "added under their name instead: %s" % ", ".join(without))
        counts = {}
        for hostname, _vps_id, _variables in wanted:
            counts[hostname] = counts.get(hostname, 0) + 1
        shared = sorted(hostname for hostname, count in counts.items() if count > 1)
        if shared:
            self.display.warning(
                "hostup.cloud.vps: several VPSes share the hostname %s; each of them is added as "
                "<hostname>_<VPS id> instead. Rename them, or set hostname: id" % ", ".join(
                    "'%s' (%d)" % (hostname, counts[hostname]) for hostname in shared))
        return [("%s_%s" % (hostname, vps_id) if counts[hostname] > 1 else hostname, variables)
                for hostname, vps_id, variables in wanted]

    def _hostname(self, choice, vps, variables, name, vps_id):
        """The hostname the option asks for, or an empty string when there is none."""
        if choice == "id":
            return vps_id
        if choice == "primary_ip":
            return str(vps.get("primary_ip") or "")
        if choice == "name":
            return name
        self.templar.available_variables = combine_vars(self._vars, variables)
        try:
            rendered = self.templar.template(trust_as_template(choice))
        except AnsibleError as exc:
            raise ConfigurationError("hostup.cloud.vps: the hostname template could not be rendered for VPS %s (%s): "
                                     "%s" % (name, vps_id, _one_line(exc))) from None
        return "" if rendered is None else str(rendered).strip()

    def _kept(self, filters, variables, name, vps_id):
        """Whether the filters keep the VPS: the first entry whose condition holds decides; none keeps it."""
        for kind, condition in filters:
            if isinstance(condition, bool):
                holds = condition
            else:
                try:
                    result = self._compose(condition, variables)
                except AnsibleError as exc:
                    raise ConfigurationError("hostup.cloud.vps: the filter %s: %s could not be evaluated for VPS %s "
                                             "(%s): %s" % (kind, condition, name, vps_id, _one_line(exc))) from None
                holds = boolean(result, strict=False) if isinstance(result, str) else bool(result)
            if holds:
                return kind == "include"
        return True

    def _host_variables(self, vps):
        prefix = self.get_option("hostvars_prefix") or ""
        suffix = self.get_option("hostvars_suffix") or ""
        variables = {}
        for field, value in vps.items():
            variables[prefix + ("vps_id" if field == "id" else field) + suffix] = value
        billing = vps.get("billing")
        if isinstance(billing, dict) and "billing_cycle" in billing:
            variables[prefix + "billing_cycle" + suffix] = billing["billing_cycle"]
        address = vps.get("primary_ip") if self.get_option("connect_with") == "primary_ip" else vps.get("name")
        if address:
            variables["ansible_host"] = address
        return variables


def _tags_of(vps):
    """The VPS's tags as a set of strings (HostUp sends a list of strings; anything else carries none)."""
    tags = vps.get("tags")
    if not isinstance(tags, list):
        return set()
    return set(tag for tag in tags if isinstance(tag, str))


def _key_digest(api_key, api_url):
    """A one-way digest of the key (as sent) and URL: the cache entry's account identity, never the key."""
    material = "%s\n%s" % (api_url, (api_key or "").strip())
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:KEY_DIGEST_LENGTH]


def _one_line(exc):
    return " ".join(str(exc).split())
