# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The hostup.cloud.vps inventory plugin, run the way users run it: real `ansible-inventory --list` and
`--graph` processes against the in-process simulator, with the simulator's request log as the witness.

Each process costs most of a CPU-second, so where several configurations are compared they are given
to one process as several sources, each putting its hosts in a group of its own.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import yaml

from ansible_collections.hostup.cloud.plugins.inventory import vps as vps_plugin

# The folder that holds ansible_collections/, wherever the tests run from (a checkout or ansible-test's copy).
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(vps_plugin.__file__), *[".."] * 5))

DEMO_KEY = "sim-demo-key"
READONLY_KEY = "sim-readonly-key"
VPS_LIST = "/api/v2/vps"
MAIL01 = "vps_01hmail0000000000000000001"
MAIL02 = "vps_01hmail0000000000000000002"
MAIL03 = "vps_01hmail0000000000000000003"
WEB01 = "vps_01hweb00000000000000000001"
DUP1 = "vps_01hdupname0000000000000001"
DUP2 = "vps_01hdupname0000000000000002"
DEFAULT_NAMES = ["mail-01", "mail-02", "mail-03", "web-01", "mail-new", "dup-name_" + DUP1, "dup-name_" + DUP2,
                 "Mail-Case"]
DEFAULT_IPS = ["192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.21", "192.0.2.14", "192.0.2.31", "192.0.2.32",
               "192.0.2.15"]
DUPLICATE_WARNING = "several VPSes share the hostname"


def ansible_inventory_command():
    """This Python's ansible-inventory: the script beside the interpreter, else the same CLI run as a module."""
    script = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    if os.path.isfile(script) and os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "ansible.cli.inventory"]


class Run(object):
    """One finished ansible-inventory process."""

    def __init__(self, completed):
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        # ansible-core 2.18 wraps warnings at the terminal width: compare messages with whitespace folded.
        self.text = " ".join((completed.stdout + "\n" + completed.stderr).split())

    def inventory(self):
        return unwrap(json.loads(self.stdout))

    def hostvars(self):
        return self.inventory()["_meta"]["hostvars"]

    def group(self, name):
        return self.inventory().get(name, {}).get("hosts", [])


def unwrap(value):
    """--list marks the strings an inventory plugin sets as {"__ansible_unsafe": ...}: the plain values."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((key, unwrap(item)) for key, item in value.items())
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value


def graph_hosts(text):
    """Host names in --graph output, in order."""
    return [line.split("|--")[-1] for line in text.splitlines() if "|--" in line and "@" not in line]


@pytest.fixture
def inventory(sim, tmp_path):
    """Run ansible-inventory against the simulator over one source (a config text) or several (a list of them)."""

    def run(config, *args, env=None):
        sources = []
        for number, text in enumerate([config] if isinstance(config, str) else config):
            source = tmp_path / ("source%d.hostup.yml" % number)
            source.write_text(text)
            sources += ["-i", str(source)]
        environment = dict((name, value) for name, value in os.environ.items()
                           if not name.startswith(("ANSIBLE_", "HOSTUP_")) and not name.lower().endswith("_proxy"))
        environment.update({
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_ROOT,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            "HOSTUP_API_KEY": DEMO_KEY,
            "HOSTUP_API_URL": sim.url,
        })
        environment.update(env or {})
        completed = subprocess.run(ansible_inventory_command() + sources + list(args),
                                   capture_output=True, text=True, env=environment, cwd=str(tmp_path),
                                   timeout=120, check=False)
        return Run(completed)

    return run


@pytest.fixture
def unused_port():
    """A loopback port nothing listens on (bound once, then released)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def vault(tmp_path, secret):
    """Encrypt ``secret`` under a fresh vault password file: (password file path, indented vault text)."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    password = b"correct horse battery staple"
    password_file = tmp_path / "vault-password"
    password_file.write_bytes(password + b"\n")
    encrypted = VaultLib([("default", VaultSecret(password))]).encrypt(secret).decode("ascii")
    return str(password_file), "".join("  %s\n" % line for line in encrypted.splitlines())


# -- hosts and host variables ---------------------------------------------------------------------------


def test_every_vps_over_several_pages_is_one_host(sim, inventory):
    created = sim.add_vps(150, prefix="bulk")
    run = inventory("plugin: hostup.cloud.vps\n", "--list")
    assert run.rc == 0, run.text
    data = run.inventory()
    hosts = data["hostup"]["hosts"]
    assert len(hosts) == len(set(hosts)) == 158
    assert hosts == DEFAULT_NAMES + [vps["name"] for vps in created]
    assert sorted(data["_meta"]["hostvars"]) == sorted(hosts)
    assert data["_meta"]["hostvars"]["bulk-150"]["hostup_vps_id"] == created[-1]["id"]
    # Two pages (100 and 58), the second asked for with the first one's cursor, and nothing else.
    log = sim.log()
    assert [(entry["method"], entry["path"]) for entry in log] == [("GET", VPS_LIST)] * 2
    assert "cursor" not in log[0]["query"] and log[1]["query"]["cursor"]
    assert run.text.count(DUPLICATE_WARNING) == 1


def test_host_vars_carry_every_field_of_the_vps(inventory):
    run = inventory("plugin: hostup.cloud.vps\n", "--list")
    assert run.rc == 0, run.text
    hostvars = run.hostvars()
    assert hostvars["mail-01"] == {
        "ansible_host": "192.0.2.11",
        "hostup_vps_id": MAIL01,
        "hostup_name": "mail-01",
        "hostup_primary_ip": "192.0.2.11",
        "hostup_service_status": "active",
        "hostup_power_state": "running",
        "hostup_operating_system": {"display_name": "Ubuntu 24.04", "family": "ubuntu", "version": "24.04",
                                    "variant": "server"},
        "hostup_billing": {"amount": 199, "currency_code": "SEK", "billing_cycle": "annually", "is_payg": False,
                           "period_years": 1},
        "hostup_billing_cycle": "annually",
        "hostup_resources": {"cpu_cores": 2, "memory_gb": 4, "storage_gb": 80},
        "hostup_tags": ["mail"],
    }
    assert hostvars["web-01"]["hostup_billing_cycle"] == "monthly"
    assert hostvars["mail-new"]["hostup_power_state"] == "provisioning"
    # The id is hostup_vps_id only; the simulator's own fields never get through.
    assert not [name for each in hostvars.values() for name in each
                if name in ("hostup_id", "hostup_ready_after_attempts")]


def test_a_field_the_plugin_does_not_know_becomes_a_host_var_with_the_prefix(sim, inventory):
    sim.patch_vps(MAIL01, {"pinState": {"isPinned": True, "pinnedNode": "node-7"}, "bandwidthGb": 512})
    run = inventory("plugin: hostup.cloud.vps\nnames: [mail-01]\nhostvars_prefix: hu_\n", "--list")
    variables = run.hostvars()["mail-01"]
    assert variables["hu_pin_state"] == {"is_pinned": True, "pinned_node": "node-7"}
    assert variables["hu_bandwidth_gb"] == 512
    assert variables["hu_vps_id"] == MAIL01 and variables["ansible_host"] == "192.0.2.11"
    assert not [name for name in variables if name.startswith("hostup_")]


def test_shared_names_become_name_and_id_for_every_vps_with_one_warning(inventory):
    run = inventory("plugin: hostup.cloud.vps\nnames: [dup-*]\n", "--graph", "-vvvv")
    assert run.rc == 0, run.text
    assert graph_hosts(run.stdout) == ["dup-name_" + DUP1, "dup-name_" + DUP2]
    assert run.text.count(DUPLICATE_WARNING) == 1
    assert "'dup-name' (2)" in run.text
    # The key (from HOSTUP_API_KEY here) is nowhere in the most verbose output.
    assert DEMO_KEY not in run.stdout + run.stderr
    assert "Traceback" not in run.text


def test_each_hostname_choice(sim, inventory):
    run = inventory(["plugin: hostup.cloud.vps\nhostname: %s\ngroups: {by_%s: true}\n" % (choice, choice)
                     for choice in ("name", "id", "primary_ip")], "--list")
    assert run.rc == 0, run.text
    assert run.group("by_name") == DEFAULT_NAMES
    assert run.group("by_id") == [vps["id"] for vps in sim.state()["vps"]]
    assert run.group("by_primary_ip") == DEFAULT_IPS
    # Only names are shared: one warning.
    assert run.text.count(DUPLICATE_WARNING) == 1
    assert len(sim.log()) == 3


def test_a_vps_without_primary_ip_has_no_ansible_host_and_falls_back_to_its_name(sim, inventory):
    sim.patch_vps(MAIL03, {"primaryIp": None})
    run = inventory(["plugin: hostup.cloud.vps\nnames: ['mail-0[13]']\ngroups: {by_name: true}\n",
                     "plugin: hostup.cloud.vps\nnames: ['mail-0[13]']\nhostname: primary_ip\n"
                     "groups: {by_ip: true}\n"], "--list")
    assert run.rc == 0, run.text
    assert run.group("by_name") == ["mail-01", "mail-03"]
    assert run.group("by_ip") == ["192.0.2.11", "mail-03"]
    hostvars = run.hostvars()
    assert "ansible_host" not in hostvars["mail-03"] and hostvars["mail-03"]["hostup_primary_ip"] is None
    assert hostvars["192.0.2.11"]["ansible_host"] == "192.0.2.11"
    assert run.text.count("have no primary IP address") == 1
    assert "have no primary IP address and are added under their name instead: mail-03 (%s)" % MAIL03 in run.text


def test_connect_with_name_sets_ansible_host_to_the_vps_name(inventory):
    run = inventory("plugin: hostup.cloud.vps\nhostname: id\nconnect_with: name\nnames: [web-01]\n", "--list")
    hostvars = run.hostvars()
    assert list(hostvars) == [WEB01]
    assert hostvars[WEB01]["ansible_host"] == "web-01"


# -- filters and constructed features -----------------------------------------------------------------

FILTER_CASES = [
    # One exact name: the API's own (case-insensitive) filter, then an exact, case-sensitive comparison.
    ("names: [mail-case]", [], "mail-case"),
    ("names: [Mail-Case]", ["Mail-Case"], "Mail-Case"),
    ("names: [dup-name]", ["dup-name_" + DUP1, "dup-name_" + DUP2], "dup-name"),
    # Patterns (case-sensitive) and several names: the whole account, matched here.
    ("names: ['mail-*']", ["mail-01", "mail-02", "mail-03", "mail-new"], None),
    ("names: ['*-0?', Mail-Case]", ["mail-01", "mail-02", "mail-03", "web-01", "Mail-Case"], None),
    ("names: [mail-01, mail-02]", ["mail-01", "mail-02"], None),
    ("power_states: [provisioning]", ["mail-new"], None),
    ("power_states: [running]\nnames: ['mail-*']", ["mail-01", "mail-02", "mail-03"], None),
    ("service_statuses: [suspended]", ["web-01"], None),
    ("service_statuses: [active, suspended]\npower_states: [stopped]", ["web-01"], None),
    ("names: []\npower_states: []\nservice_statuses: []", DEFAULT_NAMES, None),
]


def test_filters(sim, inventory):
    sim.patch_vps(WEB01, {"serviceStatus": "suspended", "powerState": "stopped"})
    run = inventory(["plugin: hostup.cloud.vps\n%s\ngroups: {case_%d: true}\n" % (config, number)
                     for number, (config, _hosts, _query) in enumerate(FILTER_CASES)], "--list")
    assert run.rc == 0, run.text
    log = sim.log()
    assert [(entry["method"], entry["path"]) for entry in log] == [("GET", VPS_LIST)] * len(FILTER_CASES)
    for number, (config, hosts, name_query) in enumerate(FILTER_CASES):
        assert run.group("case_%d" % number) == hosts, config
        assert log[number]["query"].get("name") == name_query, config


def test_constructed_groups_keyed_groups_and_compose(inventory):
    config = """plugin: hostup.cloud.vps
names: ['mail-0*', web-01]
strict: true
compose:
  ansible_user: "'root'"
  mail_fqdn: hostup_name ~ '.example.com'
groups:
  mail_servers: "'mail' in hostup_tags"
keyed_groups:
  - key: hostup_operating_system.family
    prefix: os
  - key: hostup_billing_cycle
    prefix: billing
"""
    run = inventory(config, "--list")
    assert run.rc == 0, run.text
    assert run.group("mail_servers") == ["mail-01", "mail-02", "mail-03"]
    assert run.group("os_ubuntu") == ["mail-01", "mail-02", "web-01"]
    assert run.group("os_debian") == ["mail-03"]
    assert run.group("billing_annually") == ["mail-01", "mail-02", "mail-03"]
    assert run.group("billing_monthly") == ["web-01"]
    assert run.hostvars()["mail-02"]["ansible_user"] == "root"
    assert run.hostvars()["mail-02"]["mail_fqdn"] == "mail-02.example.com"


def test_the_three_line_example_gives_the_mail_servers_group(inventory):
    example = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "hostup", "cloud", "playbooks", "inventory",
                           "example.hostup.yml")
    with open(example) as handle:
        config = handle.read()
    assert len(config.splitlines()) == 3
    run = inventory(config, "--graph", "mail_servers")
    assert run.rc == 0, run.text
    assert graph_hosts(run.stdout) == ["mail-01", "mail-02", "mail-03", "mail-new"]


# -- caching ----------------------------------------------------------------------------------------------


def test_a_second_run_within_the_cache_timeout_sends_no_request(sim, inventory, tmp_path):
    config = """plugin: hostup.cloud.vps
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: %s
cache_timeout: 600
""" % (tmp_path / "cache")
    first = inventory(config, "--list")
    assert first.rc == 0, first.text
    assert len(sim.log()) == 1
    sim.reset()
    second = inventory(config, "--list")
    assert second.rc == 0, second.text
    assert sim.log() == []
    assert second.inventory() == first.inventory()
    cached = "".join(path.read_text() for path in (tmp_path / "cache").iterdir())
    assert MAIL01 in cached and DEMO_KEY not in cached
    # Another name filter asks the API another question: the cached answer does not serve it.
    third = inventory(config + "names: [web-01]\n", "--graph")
    assert graph_hosts(third.stdout) == ["web-01"]
    assert len(sim.log()) == 1


def test_another_key_within_the_cache_timeout_reads_the_api_again(sim, inventory, tmp_path):
    config = """plugin: hostup.cloud.vps
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: %s
cache_timeout: 600
""" % (tmp_path / "cache")
    first = inventory(config, "--graph")
    assert first.rc == 0, first.text
    assert "web-01" in graph_hosts(first.stdout)
    # The same key again: the cache answers.
    assert graph_hosts(inventory(config, "--graph").stdout) == graph_hosts(first.stdout)
    assert [entry["key_name"] for entry in sim.log()] == ["demo"]
    # Another account's key, same file, within the timeout: a request with that key, and its answer as it
    # is now (the renamed VPS), not the hosts cached for the first key.
    sim.patch_vps(WEB01, {"name": "web-renamed"})
    other = inventory(config, "--graph", env={"HOSTUP_API_KEY": READONLY_KEY})
    assert other.rc == 0, other.text
    assert [entry["key_name"] for entry in sim.log()] == ["demo", "readonly"]
    assert "web-renamed" in graph_hosts(other.stdout) and "web-01" not in graph_hosts(other.stdout)
    cached = "".join(path.read_text() for path in (tmp_path / "cache").iterdir())
    assert MAIL01 in cached and "web-renamed" in cached
    assert DEMO_KEY not in cached and READONLY_KEY not in cached
    assert DEMO_KEY not in first.text + other.text and READONLY_KEY not in other.text


# -- failures and the key -----------------------------------------------------------------------------------


def test_a_rejected_key_is_one_clear_line_and_never_shown(sim, inventory):
    bad_key = "hup-wrong-key-0123456789"
    run = inventory("plugin: hostup.cloud.vps\n", "--list", "-vvvv", env={"HOSTUP_API_KEY": bad_key})
    assert "GET /api/v2/vps failed: HTTP 401 unauthorized: Authentication is required. (request req_" in run.text
    assert "Check api_key (or the HOSTUP_API_KEY environment variable): the key is missing, wrong or revoked" \
        in run.text
    assert "Traceback" not in run.text
    assert bad_key not in run.stdout + run.stderr
    assert '"hostvars": {}' in run.stdout
    assert [entry["status"] for entry in sim.log()] == [401]


def test_an_unreachable_api_and_a_plain_http_url_are_one_clear_line_each(sim, inventory, unused_port):
    run = inventory(["plugin: hostup.cloud.vps\napi_retries: 0\napi_url: http://127.0.0.1:%d\n" % unused_port,
                     "plugin: hostup.cloud.vps\napi_url: http://cloud.hostup.se\n"], "--graph")
    assert "GET /api/v2/vps failed: could not connect to http://127.0.0.1:%d/api/v2/vps: " % unused_port in run.text
    assert "Connection refused" in run.text
    # Refused before any request: the key would cross the network in clear text.
    assert 'api_url "http://cloud.hostup.se" uses plain http to a non-loopback host' in run.text
    assert "Traceback" not in run.text
    assert graph_hosts(run.stdout) == []
    assert sim.log() == []


def test_a_vaulted_key_in_the_file(sim, inventory, tmp_path):
    password_file, encrypted = vault(tmp_path, DEMO_KEY)
    config = "plugin: hostup.cloud.vps\nnames: [web-01]\napi_key: !vault |\n" + encrypted
    run = inventory(config, "--graph", "--vault-password-file", password_file, env={"HOSTUP_API_KEY": "wrong"})
    assert run.rc == 0, run.text
    assert graph_hosts(run.stdout) == ["web-01"]
    assert [entry["key_name"] for entry in sim.log()] == ["demo"]


def test_a_key_templated_from_a_vaulted_extra_var(sim, inventory, tmp_path):
    password_file, encrypted = vault(tmp_path, DEMO_KEY)
    extra_vars = tmp_path / "vault.yml"
    extra_vars.write_text("vault_hostup_api_key: !vault |\n" + encrypted)
    config = 'plugin: hostup.cloud.vps\nnames: [web-01]\napi_key: "{{ vault_hostup_api_key }}"\n'
    run = inventory(config, "--graph", "-vvvv", "-e", "@%s" % extra_vars, "--vault-password-file", password_file,
                    env={"HOSTUP_API_KEY": "wrong"})
    assert run.rc == 0, run.text
    assert graph_hosts(run.stdout) == ["web-01"]
    assert DEMO_KEY not in run.stdout + run.stderr
    assert [entry["key_name"] for entry in sim.log()] == ["demo"]


@pytest.mark.parametrize("name, accepted", [
    ("inventory.hostup.yml", True),
    ("hostup.yaml", True),
    ("prod-hostup.yml", True),
    ("inventory.yml", False),
    ("hostup.yml.bak", False),
    ("hostup.json", False),
])
def test_verify_file_accepts_only_names_ending_in_hostup_yml(tmp_path, name, accepted):
    path = tmp_path / name
    path.write_text("plugin: hostup.cloud.vps\n")
    assert vps_plugin.InventoryModule().verify_file(str(path)) is accepted


# -- the default group, hostname templates, prefix and suffix --------------------------------------------


def test_every_host_lands_in_the_group_option(inventory):
    run = inventory(["plugin: hostup.cloud.vps\nnames: ['mail-0*']\n",
                     "plugin: hostup.cloud.vps\nnames: [web-01]\ngroup: fleet\n",
                     "plugin: hostup.cloud.vps\nnames: [Mail-Case]\ngroup: ''\n"], "--list")
    assert run.rc == 0, run.text
    assert run.group("hostup") == ["mail-01", "mail-02", "mail-03"]
    assert run.group("fleet") == ["web-01"]
    # An empty group name adds no group.
    assert run.group("ungrouped") == ["Mail-Case"]


def test_a_hostname_template_over_host_vars_prefix_suffix_and_extra_vars(inventory):
    run = inventory([
        'plugin: hostup.cloud.vps\nnames: [mail-01, web-01]\nhostname: "{{ hostup_name }}.{{ domain }}"\n'
        'group: by_template\n',
        'plugin: hostup.cloud.vps\nnames: [mail-03]\nhostvars_prefix: ""\nhostvars_suffix: _hu\n'
        'hostname: "{{ operating_system_hu.family }}-{{ vps_id_hu[-1] }}"\ngroup: with_suffix\n',
        # The choices keep working next to templates.
        'plugin: hostup.cloud.vps\nnames: [web-01]\nhostname: id\ngroup: by_id\n',
    ], "--list", "-e", "domain=example.net")
    assert run.rc == 0, run.text
    assert run.group("by_template") == ["mail-01.example.net", "web-01.example.net"]
    assert run.group("with_suffix") == ["debian-3"]
    assert run.group("by_id") == [WEB01]
    assert run.hostvars()["debian-3"]["vps_id_hu"] == MAIL03


def test_template_hostnames_keep_the_shared_name_and_no_address_rules(sim, inventory):
    sim.patch_vps(MAIL03, {"primaryIp": None})
    run = inventory([
        'plugin: hostup.cloud.vps\nnames: ["mail-0*", web-01]\nhostname: "{{ hostup_operating_system.family }}"\n'
        'group: by_family\n',
        'plugin: hostup.cloud.vps\nnames: [mail-01, mail-03]\nhostname: "{{ hostup_primary_ip }}"\ngroup: by_ip\n',
    ], "--list")
    assert run.rc == 0, run.text
    # Three VPSes render "ubuntu": none keeps it; the one "debian" does.
    assert sorted(run.group("by_family")) == sorted(["ubuntu_" + MAIL01, "ubuntu_" + MAIL02, "debian",
                                                     "ubuntu_" + WEB01])
    assert run.text.count(DUPLICATE_WARNING) == 1 and "'ubuntu' (3)" in run.text
    # An empty rendering: the VPS keeps its name, with one warning.
    assert run.group("by_ip") == ["192.0.2.11", "mail-03"]
    assert run.text.count("the hostname template renders empty for these VPSes") == 1
    assert "added under their name instead: mail-03 (%s)" % MAIL03 in run.text


def test_hostvars_prefix_and_suffix_name_every_variable(inventory):
    run = inventory("plugin: hostup.cloud.vps\nnames: [web-01]\nhostvars_prefix: vps_\nhostvars_suffix: _x\n",
                    "--list")
    assert run.rc == 0, run.text
    variables = run.hostvars()["web-01"]
    assert variables["vps_vps_id_x"] == WEB01
    assert variables["vps_name_x"] == "web-01" and variables["vps_billing_cycle_x"] == "monthly"
    assert variables["ansible_host"] == "192.0.2.21"
    assert sorted(name for name in variables if not (name.startswith("vps_") and name.endswith("_x"))) == \
        ["ansible_host"]


def test_the_old_prefix_option_name_still_works_with_a_deprecation_warning(sim, inventory):
    run = inventory(["plugin: hostup.cloud.vps\nnames: [mail-01]\nhostvar_prefix: old_\n",
                     "plugin: hostup.cloud.vps\nnames: [web-01]\nhostvar_prefix: a_\nhostvars_prefix: b_\n"],
                    "--list")
    assert run.hostvars()["mail-01"]["old_vps_id"] == MAIL01
    assert run.text.count("the option hostvar_prefix is deprecated; rename it to hostvars_prefix") == 1
    # Both names at once: refused, before any request.
    assert "hostup.cloud.vps: set only hostvars_prefix in" in run.text
    assert "hostvar_prefix is its deprecated old name" in run.text
    assert "web-01" not in run.hostvars()
    assert len(sim.log()) == 1


# -- tags and Jinja2 filters ----------------------------------------------------------------------------------


def test_tags_keep_the_vpses_that_carry_every_listed_tag(sim, inventory):
    sim.patch_vps(MAIL01, {"tags": ["mail", "prod"]})
    sim.patch_vps(WEB01, {"tags": ["prod"]})
    run = inventory(["plugin: hostup.cloud.vps\ntags: [mail]\ngroup: mail\n",
                     "plugin: hostup.cloud.vps\ntags: [prod]\ngroup: prod\n",
                     "plugin: hostup.cloud.vps\ntags: [mail, prod]\ngroup: both\n",
                     "plugin: hostup.cloud.vps\ntags: [Mail]\ngroup: case\n",
                     "plugin: hostup.cloud.vps\ntags: []\ngroup: any\n"], "--list")
    assert run.rc == 0, run.text
    assert run.group("mail") == ["mail-01", "mail-02", "mail-03"]
    assert run.group("prod") == ["mail-01", "web-01"]
    assert run.group("both") == ["mail-01"]
    assert run.group("case") == []
    assert run.group("any") == DEFAULT_NAMES


FILTER_RULES = [
    # No entry matches: the VPS is kept.
    ("[{exclude: \"hostup_name == 'web-01'\"}]", [name for name in DEFAULT_NAMES if name != "web-01"]),
    # The first matching entry decides: Debian mail-03 is included before the exclude sees its tag.
    ("[{include: \"hostup_operating_system.family == 'debian'\"}, {exclude: \"'mail' in hostup_tags\"}]",
     [name for name in DEFAULT_NAMES if name not in ("mail-01", "mail-02")]),
    # Includes followed by an exclude of everything: any one include keeps the VPS.
    ("[{include: \"hostup_name == 'web-01'\"}, {include: \"hostup_power_state == 'provisioning'\"}, "
     "{exclude: true}]", ["web-01", "mail-new"]),
    ("[{exclude: false}, {include: true}, {exclude: true}]", DEFAULT_NAMES),
    # Conditions see ansible_host, and filters apply after the other options.
    ("[{include: \"ansible_host.endswith('.11')\"}, {exclude: true}]\nnames: ['mail-*']", ["mail-01"]),
]


def test_filters_the_first_matching_entry_decides(inventory):
    run = inventory(["plugin: hostup.cloud.vps\nfilters: %s\ngroup: rule_%d\n" % (rules, number)
                     for number, (rules, _hosts) in enumerate(FILTER_RULES)], "--list")
    assert run.rc == 0, run.text
    for number, (rules, hosts) in enumerate(FILTER_RULES):
        assert run.group("rule_%d" % number) == hosts, rules


def test_a_bad_filter_or_hostname_fails_the_source_in_one_line(sim, inventory):
    run = inventory(["plugin: hostup.cloud.vps\nfilters: [{include: 'true', exclude: 'false'}]\n",
                     "plugin: hostup.cloud.vps\nfilters: [{include: 'true'}, oops]\n",
                     "plugin: hostup.cloud.vps\nhostname: fqdn\n",
                     "plugin: hostup.cloud.vps\nnames: ['mail-0*']\nfilters: [{include: 'nosuch == 1'}]\n"],
                    "--graph")
    assert "filters entry 1 must be a dictionary with exactly one key, include or exclude, whose value is a Jinja2 " \
        'condition or a boolean; got {"include": "true", "exclude": "false"}' in run.text
    assert 'filters entry 2 must be a dictionary with exactly one key, include or exclude' in run.text
    assert 'got "oops"' in run.text
    assert "hostname must be name, id, primary_ip or a Jinja2 template (a string containing '{{'), not 'fqdn'" \
        in run.text
    assert "the filter include: nosuch == 1 could not be evaluated for VPS mail-01 (%s): " % MAIL01 in run.text
    assert "'nosuch' is undefined" in run.text
    assert "Traceback" not in run.text
    assert graph_hosts(run.stdout) == []
    # Only the last source got as far as a request: the others failed on their settings.
    assert len(sim.log()) == 1


# -- the environment (AWX) and unknown options ---------------------------------------------------------------

AWX_ENVIRONMENT = {
    "HOSTUP_INVENTORY_NAMES": "mail-*,web-01",
    "HOSTUP_INVENTORY_POWER_STATES": "running,stopped",
    "HOSTUP_INVENTORY_SERVICE_STATUSES": "active",
    "HOSTUP_INVENTORY_TAGS": "mail",
    "HOSTUP_INVENTORY_FILTERS": json.dumps([{"exclude": "hu_name_x == 'mail-02'"}]),
    "HOSTUP_INVENTORY_GROUP": "awx",
    "HOSTUP_INVENTORY_HOSTNAME": "{{ hu_name_x }}.awx",
    "HOSTUP_INVENTORY_HOSTVARS_PREFIX": "hu_",
    "HOSTUP_INVENTORY_HOSTVARS_SUFFIX": "_x",
    "HOSTUP_INVENTORY_CONNECT_WITH": "name",
}


def test_every_option_but_the_constructed_ones_can_come_from_the_environment():
    options = yaml.safe_load(vps_plugin.DOCUMENTATION)["options"]
    shared = {"api_key": "HOSTUP_API_KEY", "api_url": "HOSTUP_API_URL"}
    for name, spec in options.items():
        if name != "plugin":
            assert [entry["name"] for entry in spec.get("env") or []] == \
                [shared.get(name, "HOSTUP_INVENTORY_" + name.upper())], name


def test_an_awx_source_configured_from_the_environment_only(sim, inventory):
    sim.patch_vps(WEB01, {"tags": ["mail"], "powerState": "stopped"})
    run = inventory("plugin: hostup.cloud.vps\n", "--list", env=AWX_ENVIRONMENT)
    assert run.rc == 0, run.text
    # mail-new is provisioning, mail-02 filtered out, Mail-Case and the dup-name pair not named.
    assert run.group("awx") == ["mail-01.awx", "mail-03.awx", "web-01.awx"]
    variables = run.hostvars()["web-01.awx"]
    assert variables["hu_vps_id_x"] == WEB01 and variables["ansible_host"] == "web-01"
    # A value in the file wins over the environment.
    run = inventory("plugin: hostup.cloud.vps\ngroup: from_file\nnames: [web-01]\n", "--list", env=AWX_ENVIRONMENT)
    assert run.group("from_file") == ["web-01.awx"] and run.group("awx") == []
    # Filters in the environment are JSON: anything else is one clear line.
    run = inventory("plugin: hostup.cloud.vps\n", "--list", env={"HOSTUP_INVENTORY_FILTERS": "exclude: x"})
    assert "hostup.cloud.vps: HOSTUP_INVENTORY_FILTERS must hold the filters as a JSON list, such as " in run.text
    assert run.hostvars() == {}


def test_timeout_and_retries_from_the_environment(sim, inventory):
    # One slow answer: with a 1 s timeout and no retries from the environment, the source fails after one request
    # (the defaults, 30 s and 5 retries, would wait for it).
    sim.fault(method="GET", path=VPS_LIST, headers_delay_ms=2500)
    run = inventory("plugin: hostup.cloud.vps\n", "--graph",
                    env={"HOSTUP_INVENTORY_API_TIMEOUT": "1", "HOSTUP_INVENTORY_API_RETRIES": "0"})
    assert graph_hosts(run.stdout) == []
    assert "GET /api/v2/vps failed" in run.text
    assert len(sim.wait_for_log(1)) == 1


def test_validate_certs_from_the_environment(inventory, unused_port):
    # Certificates unchecked for an https URL: one warning says so (nothing listens there; the connection fails).
    run = inventory("plugin: hostup.cloud.vps\n", "--graph", env={
        "HOSTUP_INVENTORY_VALIDATE_CERTS": "false", "HOSTUP_INVENTORY_API_RETRIES": "0",
        "HOSTUP_API_URL": "https://127.0.0.1:%d" % unused_port})
    assert "validate_certs is false: the TLS certificate of https://127.0.0.1:%d is not checked" % unused_port \
        in run.text
    assert graph_hosts(run.stdout) == []


def test_an_empty_environment_variable_counts_as_unset(sim, inventory):
    names = [entry["name"] for spec in yaml.safe_load(vps_plugin.DOCUMENTATION)["options"].values()
             for entry in spec.get("env") or [] if entry["name"].startswith("HOSTUP_INVENTORY_")]
    assert len(names) == 13
    sim.fault(method="GET", path=VPS_LIST, status=503)
    run = inventory("plugin: hostup.cloud.vps\n", "--list", env=dict((name, "") for name in names))
    assert run.rc == 0, run.text
    assert run.group("hostup") == DEFAULT_NAMES
    assert run.hostvars()["mail-01"]["hostup_vps_id"] == MAIL01
    assert run.hostvars()["mail-01"]["ansible_host"] == "192.0.2.11"
    # The 503 was retried: api_retries is its default, not zero.
    assert [entry["status"] for entry in sim.log()] == [503, 200]


def test_an_unknown_option_fails_the_source_naming_it_and_the_valid_ones(sim, inventory, tmp_path):
    run = inventory(["plugin: hostup.cloud.vps\nhostvar_prefx: x\n",
                     "plugin: hostup.cloud.vps\nnames: [web-01]\nfilter: [{include: 'true'}]\nbogus: 1\n"], "--graph")
    valid = ("Valid options: api_key, api_retries, api_timeout, api_url, cache, cache_connection, cache_plugin, "
             "cache_prefix, cache_timeout, compose, connect_with, filters, group, groups, hostname, hostvars_prefix, "
             "hostvars_suffix, keyed_groups, leading_separator, names, plugin, power_states, service_statuses, "
             "strict, tags, use_extra_vars, validate_certs")
    # ansible-core 2.18 wraps warnings, also at the hyphens of the path: compare without any whitespace.
    squeezed = "".join(run.text.split())
    for message in ("hostup.cloud.vps: unknown option in %s: hostvar_prefx (did you mean hostvars_prefix?). %s" % (
                    tmp_path / "source0.hostup.yml", valid),
                    "hostup.cloud.vps: unknown options in %s: bogus, filter (did you mean filters?). %s" % (
                    tmp_path / "source1.hostup.yml", valid)):
        assert "".join(message.split()) in squeezed, message
    assert graph_hosts(run.stdout) == []
    assert sim.log() == []
