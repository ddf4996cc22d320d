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

/** keepalived writes each VIP as `198.18.0.200 dev eth0 scope global set`; the address is the first word. */
function vipAddress(entry: unknown): string | undefined {
  const first = str(entry).trim().split(/\s+/)[0];
  return first === undefined || first === "" ? undefined : (first.split("/")[0] ?? first);
}

export function parseKeepalivedJson(text: string): InstanceStats[] {
  const raw = JSON.parse(text) as unknown;
  if (!Array.isArray(raw)) throw new Error("keepalived.json is not a list of instances");
  const out: InstanceStats[] = [];
  for (const item of raw as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const { data, stats } = item as { data?: Record<string, unknown>; stats?: Record<string, unknown> };
    if (data === undefined) continue;
    const vips = [data.vips, data.evips]
      .flatMap((list) => (Array.isArray(list) ? (list as unknown[]) : []))
      .map(vipAddress)
      .filter((v): v is string => v !== undefined);
    out.push({
      iname: str(data.iname),
      intf: str(data.ifp_ifname),
      vrid: num(data.vrid),
      state: num(data.state),
      vips,
      advertRcvd: num(stats?.advert_rcvd),
      advertSent: num(stats?.advert_sent),
      becomeMaster: num(stats?.become_master),
      releaseMaster: num(stats?.release_master),
    });
  }
  return out.sort((a, b) => (a.iname < b.iname ? -1 : a.iname > b.iname ? 1 : 0));
}
