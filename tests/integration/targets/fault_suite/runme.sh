#!/usr/bin/env bash
# Faults through real ansible-playbook runs: both modules and the role against 429, 502 after the work
# was done, a proxy's HTML 503 page, dropped connections and cut-off bodies (faults.yml checks results
# and the simulator). Here: what the user sees, on stdout and stderr.
set -euo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start

out="${HOSTUP_SIM_DIR}/stdout"
err="${HOSTUP_SIM_DIR}/stderr"
ansible-playbook -i inventory -e "hostup_sim_url=${HOSTUP_SIM_URL}" "$@" faults.yml >"${out}" 2>"${err}" || {
    cat "${out}" "${err}"
    exit 1
}
cat "${out}" "${err}"

fail() {
    echo "fault_suite: $*" >&2
    exit 1
}

# No traceback, anywhere.
if grep -n -i -e Traceback -e 'Exception:' "${out}" "${err}"; then
    fail "a traceback or an exception reached the output"
fi

# Three warnings for the port 25 request (502 module, 502 role, dropped module; the cut-off module
# answer is the fourth) and two for tickets (502 reopen): each on its one line.
all="${HOSTUP_SIM_DIR}/all"
cat "${out}" "${err}" | tr -s ' \n' ' ' >"${all}"
[ "$(grep -o 'the retry found a request already pending: the first attempt probably filed it' "${all}" | wc -l)" -eq 4 ] ||
    fail "expected four 'probably filed it' warnings"
[ "$(grep -o 'retry found it already open: the first attempt probably did it' "${all}" | wc -l)" -eq 1 ] ||
    fail "expected one 'probably did it' warning for the reopened ticket"

# The three HTML 503 failures were shown as the user sees them: one line each, in the fatal result.
[ "$(grep -c '^fatal: \[localhost\]: FAILED! => .*"msg": "[A-Z]* /api/v2/[a-z0-9/_-]* failed: HTTP 503: <html> <head><title>503 Service Temporarily Unavailable</title></head> <body> .* (request req_[a-z0-9]*)"' "${out}")" -eq 3 ] ||
    fail "expected three one-line 503 failures"

grep -qE '^localhost +: ok=[0-9]+ +changed=[0-9]+ +unreachable=0 +failed=0 +skipped=[0-9]+ +rescued=3 ' "${out}" ||
    fail "expected a clean recap with three rescued failures"
