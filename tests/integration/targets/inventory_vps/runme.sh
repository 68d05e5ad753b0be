#!/usr/bin/env bash
# The hostup.cloud.vps inventory plugin feeding the port25_unblock role, against the HostUp API simulator:
# every VPS's request filed with exactly one POST, no lookup by name or IP, and nothing new on a second run.
set -euxo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start
export HOSTUP_API_KEY=sim-demo-key HOSTUP_API_URL="${HOSTUP_SIM_URL}"

# sim_check EXPRESSION: assert a Python expression over the simulator's `state`, its request `log` and
# `running`, the ids of the account's running VPSes (the hosts the inventory file selects).
sim_check() {
    "${HOSTUP_SIM_PYTHON}" -c '
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
state = json.load(opener.open(sys.argv[1] + "/_sim/state", timeout=10))
log = json.load(opener.open(sys.argv[1] + "/_sim/log", timeout=10))["requests"]
running = sorted(vps["id"] for vps in state["vps"] if vps["powerState"] == "running")
assert eval(sys.argv[2]), "%s\nlog: %s" % (sys.argv[2], json.dumps(log, indent=1))
' "${HOSTUP_SIM_URL}" "$1"
}

out="${HOSTUP_SIM_DIR}/ansible.out"

# A BankID-verified account (so every VPS may ask, whatever its billing cycle) with five more VPSes:
# twelve running ones in all, among them two that share the name dup-name.
hostup_sim_admin PUT /_sim/account '{"bankid_verified": true}'
hostup_sim_admin POST /_sim/vps/bulk '{"count": 5, "prefix": "smtp", "billingCycle": "monthly"}'
hostup_sim_admin DELETE /_sim/log

# The inventory itself: twelve hosts, the provisioning VPS left out, the shared name made unique.
ansible-inventory -i inventory.hostup.yml --graph mail_servers | tee "${out}"
[ "$(grep -c -- '|--' "${out}")" -eq 12 ]
grep -qF -- '|--dup-name_vps_01hdupname0000000000000001' "${out}"
grep -qF -- '|--smtp-005' "${out}"
if grep -qF mail-new "${out}"; then exit 1; fi
hostup_sim_admin DELETE /_sim/log

# AWX style: a source file with the plugin name only, every setting from HOSTUP_INVENTORY_* variables; an
# empty one (HOSTUP_INVENTORY_TAGS, HOSTUP_INVENTORY_API_RETRIES) counts as unset. One request.
HOSTUP_INVENTORY_NAMES='mail-*,smtp-00[12]' HOSTUP_INVENTORY_GROUP=awx_fleet HOSTUP_INVENTORY_HOSTVARS_PREFIX=hu_ \
    HOSTUP_INVENTORY_HOSTNAME='{{ hu_name }}.awx' HOSTUP_INVENTORY_TAGS='' HOSTUP_INVENTORY_API_RETRIES='' \
    HOSTUP_INVENTORY_FILTERS='[{"exclude": "hu_power_state != \"running\""}]' \
    ansible-inventory -i awx.hostup.yml --list >"${out}"
"${HOSTUP_SIM_PYTHON}" -c '
import json, sys
data = json.load(open(sys.argv[1]))
hosts = data["awx_fleet"]["hosts"]
assert hosts == ["mail-01.awx", "mail-02.awx", "mail-03.awx", "smtp-001.awx", "smtp-002.awx"], hosts
assert "hu_vps_id" in data["_meta"]["hostvars"]["smtp-002.awx"], data["_meta"]["hostvars"]["smtp-002.awx"]
' "${out}"
sim_check '[(r["method"], r["path"]) for r in log] == [("GET", "/api/v2/vps")]'
hostup_sim_admin DELETE /_sim/log

# A misspelt option fails the source with one line that names it and the valid options, before any request.
set +e
ANSIBLE_INVENTORY_UNPARSED_FAILED=true ansible-inventory -i typo.hostup.yml --graph >"${out}" 2>&1
status=$?
set -e
cat "${out}"
[ "${status}" -ne 0 ]
tr -s ' \n' '  ' <"${out}" | grep -qF 'hostvar_prefx (did you mean hostvars_prefix?). Valid options: api_key, '
sim_check 'log == []'

# First run: each VPS's request filed once. One read of the account's port 25 state for the whole play
# (run_once), after the inventory's own list and before any POST; no host costs a lookup by name or
# primary IP, because each carries hostup_vps_id.
ansible-playbook -i inventory.hostup.yml -f 5 "$@" unblock.yml | tee "${out}"
[ "$(grep -cE '^[^ ]+ +: ok=[0-9]+ +changed=1 +unreachable=0 +failed=0 ' "${out}")" -eq 12 ]
grep -qF '"msg": "port25: filed 12, already pending 0, unblocked 0, rejected 0, failed 0"' "${out}"
sim_check 'sorted(r["body"]["vpsId"] for r in log if r["method"] == "POST") == running and len(running) == 12'
sim_check '{(r["method"], r["path"], r["status"]) for r in log if r["method"] == "POST"} == {("POST", "/api/v2/support/port25-requests", 201)}'
sim_check '[(r["method"], r["path"], r["query"], r["status"]) for r in log if r["method"] != "POST"] == [("GET", "/api/v2/vps", {"limit": "100"}, 200), ("GET", "/api/port25/requests", {}, 200)]'
sim_check '[(r["method"], r["path"]) for r in log[:2]] == [("GET", "/api/v2/vps"), ("GET", "/api/port25/requests")]'
sim_check 'sorted(p["vpsId"] for p in state["port25_requests"]) == running'
hostup_sim_admin DELETE /_sim/log

# Second run: the state read shows a pending request at each VPS's primary address, so the role sends
# nothing but that one read, and nothing is filed. With connect_with=name, ansible_host is the VPS name:
# the role can match a host's state only by hostup_primary_ip, the host variable the plugin sets.
HOSTUP_INVENTORY_CONNECT_WITH=name ansible-playbook -i inventory.hostup.yml -f 5 "$@" unblock.yml | tee "${out}"
[ "$(grep -cE '^[^ ]+ +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0 ' "${out}")" -eq 12 ]
grep -qF '"msg": "port25: filed 0, already pending 12, unblocked 0, rejected 0, failed 0"' "${out}"
sim_check '[(r["method"], r["path"], r["status"]) for r in log] == [("GET", "/api/v2/vps", 200), ("GET", "/api/port25/requests", 200)]'
sim_check 'sorted(p["vpsId"] for p in state["port25_requests"]) == running'
sim_check '{p["status"] for p in state["port25_requests"]} == {"pending"}'
