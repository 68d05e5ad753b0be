#!/usr/bin/env bash
# The demo: start the bundled HostUp API simulator on 127.0.0.1 and file port 25 unblock requests
# for three mail servers with the port25_unblock role, twice. The first run reports `changed`, the
# second `ok`: nothing is filed twice. No HostUp account is needed and nothing leaves this machine.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$(bash "$repo_root/.ci/venv.sh" tools)
work=$(mktemp -d "${TMPDIR:-/tmp}/hostup-demo.XXXXXX")
sim_pid=
cleanup() {
    [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# Ansible finds the collection through a collections path that points at this checkout.
mkdir -p "$work/collections/ansible_collections/hostup"
ln -s "$repo_root" "$work/collections/ansible_collections/hostup/cloud"

"$venv/bin/python" "$repo_root/tests/simulator/hostup_sim.py" --host 127.0.0.1 --port 0 \
    --state "$repo_root/tests/simulator/default_state.json" --port-file "$work/port" >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do [[ -s $work/port ]] && break; sleep 0.1; done
[[ -s $work/port ]] || { echo "the simulator did not start:" >&2; cat "$work/sim.log" >&2; exit 1; }
api_url=http://127.0.0.1:$(cat "$work/port")

export ANSIBLE_COLLECTIONS_PATH=$work/collections
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-}
export HOSTUP_API_URL=$api_url
export HOSTUP_API_KEY=sim-demo-key   # the simulator's demo key; a real key would come from a vault

run_play() {
    echo
    echo "=== $1"
    "$venv/bin/ansible-playbook" -i "$repo_root/playbooks/inventory/demo_simulator.yml" \
        "$repo_root/playbooks/port25_unblock.yml"
}

echo "HostUp API simulator listening on $api_url"
run_play "first run: each mail server's port 25 request is filed (changed)"
run_play "second run: the requests are already pending, nothing is filed again (ok)"

echo
echo "=== what the simulator received"
"$venv/bin/python" - "$api_url" <<'PY'
import collections, json, sys, urllib.request
log = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/log"))["requests"]
for entry in log:
    print("%-5s %-40s -> %s" % (entry["method"], entry["path"], entry["status"]))
state = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/state"))
filed = collections.Counter(r["vpsId"] for r in state["port25_requests"])
print("port 25 requests stored: %d, for %d VPSes (%s)" % (
    sum(filed.values()), len(filed), "each exactly once" if set(filed.values()) == {1} else "DUPLICATES!"))
PY
