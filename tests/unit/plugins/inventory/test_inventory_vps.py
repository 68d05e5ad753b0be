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

from ansible_collections.hostup.cloud.plugins.inventory import vps as vps_plugin

# The folder that holds ansible_collections/, wherever the tests run from (a checkout or ansible-test's copy).
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(vps_plugin.__file__), *[".."] * 5))

DEMO_KEY = "sim-demo-key"
VPS_LIST = "/api/v2/vps"
MAIL01 = "vps_01hmail0000000000000000001"
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
    hosts = data["ungrouped"]["hosts"]
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
    run = inventory("plugin: hostup.cloud.vps\nnames: [mail-01]\nhostvar_prefix: hu_\n", "--list")
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
