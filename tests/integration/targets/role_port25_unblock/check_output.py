"""Check the default output of fifty.yml: python check_output.py OUTPUT HOSTS.

Per host, besides the argument-spec check Ansible runs for every role with an argument spec, only
the request task's line; the tasks that run once (state read, waiting, summary, report, connection
check) each show one line for one host; one summary line; no meta task headers.
"""

import re
import sys

RESULT = re.compile(r"^(ok|changed|skipping|failed|fatal): \[([^\]]+)\]")
TASK = re.compile(r"^TASK \[(.*)\] \**$")
ARGSPEC = "Validating arguments against arg spec"
REQUEST = "File the port 25 unblock request for this host's VPS"
ONCE = ("Read the port 25 state of the account", "Wait for HostUp to decide the requests of the play's hosts",
        "Sum up the port 25 state of the play's hosts", "Report the port 25 state of the play's hosts",
        "Check outbound port 25 from the unblocked hosts")


def main(path, hosts):
    hosts = int(hosts)
    lines = open(path, encoding="utf-8").read().splitlines()
    tasks = []
    for line in lines:
        header = TASK.match(line)
        if header:
            tasks.append((header.group(1).split(" : ", 1)[-1], []))
            continue
        result = RESULT.match(line)
        if result and tasks:
            tasks[-1][1].append((result.group(1), result.group(2)))
    names = [name for name, dummy in tasks]
    assert len(names) == 2 + len(ONCE), names
    assert names[0].startswith(ARGSPEC) and names[1] == ONCE[0] and names[2] == REQUEST, names
    assert names[3:] == list(ONCE[1:]), names
    assert not any("meta" in name.lower() or "end_role" in name for name in names), names
    request = dict(tasks)[REQUEST]
    assert len(request) == hosts and {kind for kind, dummy in request} == {"changed"}, request
    for name in ONCE:
        results = dict(tasks)[name]
        assert len(results) == 1, (name, results)
    per_host = {}
    for name, results in tasks[1:]:
        for kind, host in results:
            per_host[host] = per_host.get(host, 0) + 1
    first = request[0][1]
    once_host = dict(tasks)[ONCE[0]][0][1]
    others = {host: count for host, count in per_host.items() if host != once_host}
    assert len(others) == hosts - 1 and set(others.values()) == {1}, others
    assert per_host[once_host] == 1 + len(ONCE), (first, per_host[once_host])
    summary = [line for line in lines if "port25: filed" in line]
    assert summary == ['    "msg": "port25: filed %d, already pending 0, unblocked 0, rejected 0, failed 0"' % hosts], summary
    print("default output on %d hosts: the request line per host, %d run-once lines, one summary" % (hosts, len(ONCE)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
