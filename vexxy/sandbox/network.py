"""A network namespace per sandbox: reachable from the host on its ports, able to reach nothing.

The sandbox gets a veth pair to the host (a /30 of its own) and, as its default route, a veth
pair that ends inside the namespace, so every outbound packet first passes an nftables chain inside the namespace that records
the destination and rejects it. Nothing is forwarded or NATed; no DNS server is configured. Only
replies to connections the host opened (readiness probes, the scanner) leave the namespace.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass

from vexxy.errors import VexxyError

SUBNET_POOL = ipaddress.ip_network("10.213.0.0/16")
SCANNER_POOL = ipaddress.ip_network("10.214.0.0/16")
SCANNER_SUFFIX = "-scan"
NETNS_PREFIX = "vexxy-"
VETH_PREFIX = "vxh"
VETH_ID_CHARS = 12  # an interface name has at most 15 characters: "vxh" + the instance + 6 of the sandbox's own

RULESET = """
table inet vexxy {
  set attempts4 { type ipv4_addr . inet_proto . inet_service; flags dynamic; size 4096; counter; }
  set attempts6 { type ipv6_addr . inet_proto . inet_service; flags dynamic; size 4096; counter; }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "lo" accept
    ct state established,related accept
    meta nfproto ipv4 meta l4proto { tcp, udp } update @attempts4 { ip daddr . meta l4proto . th dport }
    meta nfproto ipv6 meta l4proto { tcp, udp } update @attempts6 { ip6 daddr . meta l4proto . th dport }
    meta l4proto tcp reject with tcp reset
    reject with icmpx admin-prohibited
  }
}
"""


class NetworkError(VexxyError):
    """The sandbox network could not be set up."""


def run(*command: str, check: bool = True, netns: str | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    full = (["ip", "netns", "exec", netns] if netns else []) + list(command)
    result = subprocess.run(full, capture_output=True, text=True, input=input)
    if check and result.returncode != 0:
        raise NetworkError(f"`{' '.join(full)}` failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


@dataclass
class SandboxNetwork:
    sandbox_id: str
    host_address: str = ""
    sandbox_address: str = ""
    scan_address: str = ""

    @property
    def netns(self) -> str:
        return f"{NETNS_PREFIX}{self.sandbox_id}"

    @property
    def netns_path(self) -> str:
        return f"/var/run/netns/{self.netns}"

    @property
    def host_veth(self) -> str:
        return f"{VETH_PREFIX}{self.sandbox_id[:VETH_ID_CHARS]}"

    @property
    def scanner_netns(self) -> str:
        return f"{self.netns}{SCANNER_SUFFIX}"

    def _free_subnet(self, pool: ipaddress.IPv4Network = SUBNET_POOL) -> ipaddress.IPv4Network:
        """A /30 no host interface uses (the sandbox's link is visible to the host, so it must be unique)."""
        used = set()
        for link in json.loads(run("ip", "-j", "addr", "show").stdout or "[]"):
            for info in link.get("addr_info", []):
                if info.get("family") == "inet":
                    used.add(ipaddress.ip_network(f"{info['local']}/30", strict=False))
        start = int(self.sandbox_id[:4], 16) % (pool.num_addresses // 4)
        subnets = list(pool.subnets(new_prefix=30))
        for index in range(len(subnets)):
            candidate = subnets[(start + index) % len(subnets)]
            if candidate not in used:
                return candidate
        raise NetworkError(f"No free /30 left for a sandbox network in {pool}.")

    def create(self) -> SandboxNetwork:
        subnet = self._free_subnet()
        host, sandbox = list(subnet.hosts())
        self.host_address, self.sandbox_address = str(host), str(sandbox)
        peer = f"vxs{self.sandbox_id[:VETH_ID_CHARS]}"
        run("ip", "netns", "add", self.netns)
        run("ip", "link", "add", self.host_veth, "type", "veth", "peer", "name", peer)
        run("ip", "link", "set", peer, "netns", self.netns)
        run("ip", "addr", "add", f"{host}/30", "dev", self.host_veth)
        run("ip", "link", "set", self.host_veth, "up")
        run("ip", "link", "set", "lo", "up", netns=self.netns)
        # The namespace belongs to the host's user namespace, so the workload's root (mapped to an
        # unprivileged host uid) holds no capability in it: let any uid bind ports below 1024.
        run("sysctl", "-qw", "net.ipv4.ip_unprivileged_port_start=0", netns=self.netns)
        run("ip", "link", "set", peer, "name", "eth0", netns=self.netns)
        run("ip", "addr", "add", f"{sandbox}/30", "dev", "eth0", netns=self.netns)
        run("ip", "link", "set", "eth0", "up", netns=self.netns)
        # The default route leads into a veth pair that ends inside the namespace (which forwards
        # nothing): outbound packets exist long enough to be recorded, then go nowhere.
        run("ip", "link", "add", "void0", "type", "veth", "peer", "name", "void1", netns=self.netns)
        run("ip", "link", "set", "void1", "up", netns=self.netns)
        run("ip", "link", "set", "void0", "up", netns=self.netns)
        run("ip", "route", "add", "default", "dev", "void0", netns=self.netns)
        run("ip", "-6", "route", "add", "default", "dev", "void0", netns=self.netns, check=False)
        run("nft", "-f", "-", netns=self.netns, input=RULESET)
        return self

    def attach_scanner(self) -> str:
        """A namespace from which only the sandbox is reachable, for the web scanner; returns the
        sandbox's address as seen from there. The scanner has no other link and no default route."""
        subnet = next(SCANNER_POOL.subnets(new_prefix=30))  # private to this pair of namespaces
        scanner, sandbox = (str(a) for a in subnet.hosts())
        run("ip", "netns", "add", self.scanner_netns)
        run("ip", "link", "add", "scan0", "type", "veth", "peer", "name", "eth0", "netns", self.scanner_netns, netns=self.netns)
        run("ip", "addr", "add", f"{sandbox}/30", "dev", "scan0", netns=self.netns)
        run("ip", "link", "set", "scan0", "up", netns=self.netns)
        run("ip", "link", "set", "lo", "up", netns=self.scanner_netns)
        run("ip", "addr", "add", f"{scanner}/30", "dev", "eth0", netns=self.scanner_netns)
        run("ip", "link", "set", "eth0", "up", netns=self.scanner_netns)
        self.scan_address = sandbox
        return sandbox

    def outbound_attempts(self) -> list[dict]:
        """Destinations the workload tried to reach: address, protocol, port, packets."""
        attempts = []
        for family, name in (("ipv4", "attempts4"), ("ipv6", "attempts6")):
            result = run("nft", "-j", "list", "set", "inet", "vexxy", name, netns=self.netns, check=False)
            if result.returncode != 0:
                continue
            for item in json.loads(result.stdout).get("nftables", []):
                for element in (item.get("set") or {}).get("elem", []):
                    value = element.get("elem", element)
                    concat = value.get("val", value).get("concat") if isinstance(value.get("val", value), dict) else None
                    if not concat:
                        continue
                    address, protocol, port = concat
                    counter = value.get("counter", {})
                    attempts.append(
                        {
                            "address": address,
                            "protocol": protocol,
                            "port": port,
                            "packets": counter.get("packets", 1),
                            "family": family,
                        }
                    )
        return attempts

    def destroy(self) -> None:
        destroy_network(self.sandbox_id)


def destroy_network(sandbox_id: str) -> None:
    """Remove the namespaces and the host veth; safe to call for half-built or already-gone networks."""
    run("ip", "link", "del", f"{VETH_PREFIX}{sandbox_id[:VETH_ID_CHARS]}", check=False)
    run("ip", "link", "del", f"vxs{sandbox_id[:VETH_ID_CHARS]}", check=False)
    run("ip", "netns", "del", f"{NETNS_PREFIX}{sandbox_id}{SCANNER_SUFFIX}", check=False)
    run("ip", "netns", "del", f"{NETNS_PREFIX}{sandbox_id}", check=False)


def leftover_networks(instance: str = "") -> tuple[list[str], list[str]]:
    """Namespaces and host veths carrying vexxy's names for sandboxes of `instance` ("" = every
    instance), for the sweep and the leak tests."""
    namespaces = [
        line.split()[0]
        for line in run("ip", "netns", "list", check=False).stdout.splitlines()
        if line.startswith(NETNS_PREFIX + instance)
    ]
    links = [
        link["ifname"]
        for link in json.loads(run("ip", "-j", "link", "show", check=False).stdout or "[]")
        if link.get("ifname", "").startswith((VETH_PREFIX + instance, "vxs" + instance))
    ]
    return namespaces, links
