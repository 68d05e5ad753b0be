"""Put simulator VPSes in chosen port 25 states and write an inventory naming them by IP address.

    python arrange.py SIM_URL mixed OUT.json    ten VPSes: fleet-001, -002 whitelisted; -003 approved;
                                                -004, -005 pending; -006 rejected; -007 to -010 nothing
    python arrange.py SIM_URL plain50 OUT.json  fifty VPSes without any request

Requests are filed through the v2 API with the demo key, decisions made through the admin API.
"""

import json
import sys
import urllib.request

KEY = "sim-demo-key"


def call(url, method, path, body=None, key=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read().decode("utf-8"))


def file_request(url, vps):
    return call(url, "POST", "/api/v2/support/port25-requests",
                {"vpsId": vps["id"], "reason": "Arranged by the test."}, key=KEY)["id"]


def main(url, mode, out):
    count, prefix = (10, "fleet") if mode == "mixed" else (50, "box")
    created = call(url, "POST", "/_sim/vps/bulk", {"count": count, "prefix": prefix, "billingCycle": "annually"})
    if mode == "mixed":
        for vps in created[:2]:
            call(url, "POST", "/_sim/port25/whitelist", {"ip_address": vps["primaryIp"], "notes": "long ago"})
        call(url, "POST", "/_sim/port25/%s/approve" % file_request(url, created[2]))
        for vps in created[3:5]:
            file_request(url, vps)
        call(url, "POST", "/_sim/port25/%s/reject" % file_request(url, created[5]),
             {"reason": "Tell us how bounces are handled"})
    hosts = {vps["name"]: {"ansible_host": vps["primaryIp"], "test_vps_id": vps["id"]} for vps in created}
    inventory = {"mail_servers": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(inventory, handle, indent=2)


if __name__ == "__main__":
    main(*sys.argv[1:4])
