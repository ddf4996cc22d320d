// keepalived's JSON dump (SIGJSON → $TMPDIR/keepalived.json) → per-instance figures. Pure.

export interface InstanceStats {
  iname: string;
  intf: string;
  vrid: number;
  /** 0 init, 1 backup, 2 master, 3 fault (keepalived's own numbering). */
  state: number;
  /** VIPs of virtual_ipaddress and virtual_ipaddress_excluded, address only. */
  vips: string[];
  advertRcvd: number;
  advertSent: number;
  becomeMaster: number;
  releaseMaster: number;
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/**
 * keepalived writes each VIP as `198.18.0.200 dev eth0 scope global set`; the address is the first word,
 * without a prefix length. Sliced, not split: sampled up to four times a second for every VIP of the node.
 */
function vipAddress(entry: unknown): string | undefined {
  const s = str(entry).trim();
  if (s === "") return undefined;
  const space = s.search(/\s/);
  const word = space < 0 ? s : s.slice(0, space);
  const slash = word.indexOf("/");
  return slash < 0 ? word : word.slice(0, slash);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * keepalived's dump, parsed, → per-instance figures, sorted by name. An instance whose VIPs are those of
 * `previous` keeps that list: a sample of a thousand VIPs then leaves nothing behind but its counters, so the
 * agent's young generation is not grown by copies of lists that never change.
 */
export function keepalivedStats(raw: unknown, previous: readonly InstanceStats[] = []): InstanceStats[] {
  if (!Array.isArray(raw)) throw new Error("keepalived.json is not a list of instances");
  const before = new Map(previous.map((p) => [p.iname, p.vips]));
  const out: InstanceStats[] = [];
  for (const item of raw as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const { data, stats } = item as { data?: Record<string, unknown>; stats?: Record<string, unknown> };
    if (data === undefined) continue;
    const iname = str(data.iname);
    const vips = [data.vips, data.evips]
      .flatMap((list) => (Array.isArray(list) ? (list as unknown[]) : []))
      .map(vipAddress)
      .filter((v): v is string => v !== undefined);
    const known = before.get(iname);
    out.push({
      iname,
      intf: str(data.ifp_ifname),
      vrid: num(data.vrid),
      state: num(data.state),
      vips: known !== undefined && sameList(known, vips) ? known : vips,
      advertRcvd: num(stats?.advert_rcvd),
      advertSent: num(stats?.advert_sent),
      becomeMaster: num(stats?.become_master),
      releaseMaster: num(stats?.release_master),
    });
  }
  return out.sort((a, b) => (a.iname < b.iname ? -1 : a.iname > b.iname ? 1 : 0));
}

/** keepalived's dump as text → per-instance figures. */
export function parseKeepalivedJson(text: string): InstanceStats[] {
  return keepalivedStats(JSON.parse(text) as unknown);
}
