// The anchor of a VRRP instance: the one address in its `virtual_ipaddress`, named in every advert. Real
// VIPs all go to `virtual_ipaddress_excluded`. Why an address of its own, and why link-local:
// - keepalived (2.2.7) refuses an instance without a VIP ("No VIP specified; at least one is required",
//   also when it has only excluded ones). With an anchor, every node's pooled instance exists, and is
//   MASTER on its node, before that node carries any VIP: a new VIP joins a running instance instead of
//   creating one on every node, where the first agent to load it would become MASTER (a "birth").
// - keepalived drops adverts whose address list differs from its own. The anchor depends only on the
//   router ID, so it never changes when Services come and go, whichever node reloads first.
// - Link-local addresses are never VIPs (core/ip.ts refuses them), stay on the link and are not routed.
//   RFC 5798 asks for a link-local first address in IPv6 adverts (which also silences keepalived's
//   warning); for IPv4 the anchor is `169.254.x.<router ID>/32 scope link`, x from
//   spec.vrrp.anchorIPv4CIDR. Its default, 169.254.240.0/24, stays clear of the known users of
//   169.254.0.0/16: cloud metadata (169.254.169.254 and its neighbours, 169.254.170.2), OVN-Kubernetes'
//   masquerade range 169.254.0.0/17 (older releases 169.254.169.0/29), Calico's 169.254.1.1, NodeLocal
//   DNSCache's 169.254.20.10, and the first and last /24 that RFC 3927 reserves.
// - Router IDs are unique on a link, so anchors are too. IPv6 link-local addresses are per interface, so
//   the IPv6 anchor needs no setting: fe80::70:<router ID in hex> (0x70 = 112, VRRP's protocol number).
import { cidrContains, ipFromValue, parseCidr, type Cidr, type Family, type ParsedIP } from "./ip.js";

export const DEFAULT_ANCHOR_IPV4_CIDR = "169.254.240.0/24";

const IPV4_LINK_LOCAL = parseCidr("169.254.0.0/16") as Cidr;
const IPV6_LINK_LOCAL = parseCidr("fe80::/10") as Cidr;
/** RFC 3927 reserves the first and the last /24 of 169.254.0.0/16. */
const IPV4_RESERVED = ["169.254.0.0/24", "169.254.255.0/24"].map((c) => parseCidr(c) as Cidr);
const IPV6_ANCHOR_BASE = 0xfe80_0000_0000_0000_0000_0000_0070_0000n;

/** Why `text` cannot be the group's IPv4 anchor network, or undefined if it can. */
export function anchorCidrProblem(text: string): string | undefined {
  const cidr = parseCidr(text);
  if (cidr === undefined || cidr.family !== 4) return "is not an IPv4 CIDR such as 169.254.240.0/24";
  if (cidr.prefix !== 24) return "must be a /24, one address per router ID";
  if (cidr.text !== text.trim()) return `has host bits set; write ${cidr.text}`;
  const first = ipFromValue(cidr.first, 4);
  if (!cidrContains(IPV4_LINK_LOCAL, first)) return "must be inside the link-local range 169.254.0.0/16";
  if (IPV4_RESERVED.some((r) => cidrContains(r, first)))
    return "is one of the /24s RFC 3927 reserves (169.254.0.0/24, 169.254.255.0/24)";
  return undefined;
}

/** The anchor of the instance with this router ID and family; `ipv4Cidr` passed anchorCidrProblem. */
export function anchorAddress(family: Family, routerId: number, ipv4Cidr: string): string {
  if (family === 6) return ipFromValue(IPV6_ANCHOR_BASE + BigInt(routerId), 6).text;
  const cidr = parseCidr(ipv4Cidr) ?? parseCidr(DEFAULT_ANCHOR_IPV4_CIDR);
  if (cidr === undefined) throw new Error("the default anchor CIDR does not parse");
  return ipFromValue(cidr.first + BigInt(routerId), 4).text;
}

/** Whether `ip` can be an anchor: a link-local address (of its family). */
export function isLinkLocal(ip: ParsedIP): boolean {
  return cidrContains(ip.family === 4 ? IPV4_LINK_LOCAL : IPV6_LINK_LOCAL, ip);
}
