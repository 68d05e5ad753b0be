# shellcheck shell=bash
# Start and stop the HostUp API simulator (tests/simulator/hostup_sim.py) for an integration target.
#
# Source this file from a runme.sh (the target needs `needs/target/setup_hostup_simulator` in its
# aliases), then call `hostup_sim_start`: it starts the simulator on a free loopback port, exports
# HOSTUP_SIM_URL, and stops the simulator when the script exits.

# ansible-test runs a target from a temporary copy that holds only tests/integration/targets/, so
# the simulator is found through ANSIBLE_COLLECTIONS_PATH (ansible-test points it at the folder
# holding ansible_collections/). Run by hand from a checkout, the path relative to this file is
# used instead.
hostup_sim_collection_root() {
    local entry candidate here
    local IFS=:
    for entry in ${ANSIBLE_COLLECTIONS_PATH:-} ${ANSIBLE_COLLECTIONS_PATHS:-}; do
        for candidate in "${entry}/ansible_collections/hostup/cloud" "${entry}/hostup/cloud"; do
            if [ -f "${candidate}/tests/simulator/hostup_sim.py" ]; then
                (cd "${candidate}" && pwd)
                return 0
            fi
        done
    done
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    if [ -f "${here}/../../../simulator/hostup_sim.py" ]; then
        (cd "${here}/../../../.." && pwd)
        return 0
    fi
    echo "setup_hostup_simulator: tests/simulator/hostup_sim.py not found (ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-unset})" >&2
    return 1
}

# hostup_sim_start: start the simulator with the state file HOSTUP_SIM_STATE, by default
# tests/simulator/default_state.json.
hostup_sim_start() {
    local root waited=0
    root=$(hostup_sim_collection_root) || return 1
    HOSTUP_SIM_PYTHON=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}
    HOSTUP_SIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hostup-sim.XXXXXX")
    "${HOSTUP_SIM_PYTHON}" "${root}/tests/simulator/hostup_sim.py" --host 127.0.0.1 --port 0 \
        --state "${HOSTUP_SIM_STATE:-${root}/tests/simulator/default_state.json}" \
        --port-file "${HOSTUP_SIM_DIR}/port" >"${HOSTUP_SIM_DIR}/simulator.log" 2>&1 &
    HOSTUP_SIM_PID=$!
    trap hostup_sim_stop EXIT
    # The port file is written atomically once the socket is bound.
    while [ ! -s "${HOSTUP_SIM_DIR}/port" ]; do
        if ! kill -0 "${HOSTUP_SIM_PID}" 2>/dev/null; then
            echo "setup_hostup_simulator: the simulator exited at start:" >&2
            cat "${HOSTUP_SIM_DIR}/simulator.log" >&2
            return 1
        fi
        if [ "${waited}" -ge 200 ]; then
            echo "setup_hostup_simulator: no port file after 10 s" >&2
            return 1
        fi
        sleep 0.05
        waited=$((waited + 1))
    done
    HOSTUP_SIM_URL="http://127.0.0.1:$(cat "${HOSTUP_SIM_DIR}/port")"
    export HOSTUP_SIM_URL HOSTUP_SIM_DIR
    echo "HostUp API simulator (pid ${HOSTUP_SIM_PID}) listening on ${HOSTUP_SIM_URL}"
}

# hostup_sim_admin METHOD PATH [JSON]: call the simulator's admin API (/_sim/...) and print its JSON
# answer; fails on an HTTP error. Proxy variables are ignored: the simulator is on loopback.
hostup_sim_admin() {
    "${HOSTUP_SIM_PYTHON}" -c '
import sys, urllib.request
data = sys.argv[3].encode() if len(sys.argv) > 3 else None
request = urllib.request.Request(sys.argv[2], data=data, method=sys.argv[1],
                                 headers={"Content-Type": "application/json"})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.stdout.write(opener.open(request, timeout=10).read().decode())
' "$1" "${HOSTUP_SIM_URL}$2" "${@:3}"
}

# hostup_sim_stop: stop the simulator started by hostup_sim_start (also run by the EXIT trap).
hostup_sim_stop() {
    if [ -n "${HOSTUP_SIM_PID:-}" ]; then
        kill "${HOSTUP_SIM_PID}" 2>/dev/null || true
        wait "${HOSTUP_SIM_PID}" 2>/dev/null || true
        HOSTUP_SIM_PID=
    fi
    if [ -n "${HOSTUP_SIM_DIR:-}" ] && [ -d "${HOSTUP_SIM_DIR}" ]; then
        # A traceback here is a simulator bug: show it rather than lose it with the folder.
        if grep -q Traceback "${HOSTUP_SIM_DIR}/simulator.log" 2>/dev/null; then
            echo "setup_hostup_simulator: the simulator logged an error:" >&2
            cat "${HOSTUP_SIM_DIR}/simulator.log" >&2
        fi
        rm -rf "${HOSTUP_SIM_DIR}"
        HOSTUP_SIM_DIR=
    fi
}
