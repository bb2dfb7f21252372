#!/bin/sh
# The kind node's pod network, in place of kindnetd (whose module the Go proxy does not serve): writes
# this node's CNI configuration (ptp + host-local on the node's podCIDR), masquerades traffic that
# leaves the pod range, and keeps a route to every other node's podCIDR through that node's address.
set -eu
: "${NODE_NAME:?}" "${POD_SUBNET:?}"
conf=/etc/cni/net.d/10-flotilla-kind.conflist

until cidr=$(kubectl get node "$NODE_NAME" -o jsonpath='{.spec.podCIDR}') && [ -n "$cidr" ]; do sleep 1; done
cat >"$conf.tmp" <<CONF
{
  "cniVersion": "0.4.0",
  "name": "kind",
  "plugins": [
    { "type": "ptp", "mtu": 1500,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$cidr" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CONF
mv "$conf.tmp" "$conf"
echo "pod network: $NODE_NAME has $cidr"

iptables -t nat -N FLOTILLA-KIND-MASQ 2>/dev/null || true
iptables -t nat -C POSTROUTING -j FLOTILLA-KIND-MASQ 2>/dev/null || iptables -t nat -A POSTROUTING -j FLOTILLA-KIND-MASQ
iptables -t nat -F FLOTILLA-KIND-MASQ
iptables -t nat -A FLOTILLA-KIND-MASQ -s "$POD_SUBNET" ! -d "$POD_SUBNET" -j MASQUERADE

while :; do
  kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' |
    while read -r name node_cidr address; do
      [ "$name" != "$NODE_NAME" ] && [ -n "$node_cidr" ] && [ -n "$address" ] || continue
      ip route replace "$node_cidr" via "$address"
    done
  sleep 10
done
