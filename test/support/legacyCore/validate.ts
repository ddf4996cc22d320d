// Small validators for strings that reach keepalived.conf: each answers with the problem, or undefined.

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function dnsLabelProblem(s: string): string | undefined {
  if (s.length === 0 || s.length > 63 || !DNS_LABEL.test(s)) {
    return "must be a DNS label (lower-case letters, digits and '-', at most 63 characters)";
  }
  return undefined;
}

export function dnsSubdomainProblem(s: string): string | undefined {
  if (s.length === 0 || s.length > 253 || !DNS_SUBDOMAIN.test(s)) {
    return "must be a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)";
  }
  return undefined;
}

/** Linux interface names: at most 15 bytes, no white space or '/'; we also refuse anything keepalived would parse. */
export function interfaceNameProblem(s: string): string | undefined {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(s)) {
    return "must be a network interface name (1-15 characters from letters, digits and _ . : @ -)";
  }
  return undefined;
}

/** A value that keepalived reads as one token or a plain line: no block, quote, comment or line break. */
export function configValueProblem(s: string): string | undefined {
  if (s.length > 512) return "is longer than 512 characters";
  if (/[\r\n]/.test(s)) return "contains a line break";
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(s)) return "contains a control character";
  const bad = /[{}"'#!\\]/.exec(s);
  if (bad !== null) return `contains '${bad[0]}', which keepalived treats as syntax`;
  if (/^\s*(include|@)/i.test(s) || /\s@/.test(s)) return "starts an include or a config-id line";
  return undefined;
}

export function configKeyProblem(s: string): string | undefined {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(s)) {
    return "must be a keepalived keyword (lower-case letters, digits and '_', starting with a letter)";
  }
  return undefined;
}

/** Quotes a string for an error message so hostile input cannot forge lines or look like our text. */
export function quote(s: string): string {
  const shown = s.length > 80 ? `${s.slice(0, 80)}…` : s;
  return JSON.stringify(shown);
}
