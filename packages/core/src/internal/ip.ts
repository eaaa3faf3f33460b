// Strict textual IP address checks, without node:net (core has no runtime Node imports).

const decimalOctet = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/

/** A dotted quad with four decimal octets and no leading zeros (which some parsers read as octal). */
export const isIPv4 = (s: string): boolean => {
  const parts = s.split(".")
  return parts.length === 4 && parts.every((p) => decimalOctet.test(p))
}

const hextet = /^[0-9a-fA-F]{1,4}$/

/** RFC 4291 text form: eight hextets, at most one `::`, an optional trailing dotted quad. No zone. */
export const isIPv6 = (s: string): boolean => {
  const halves = s.split("::")
  if (halves.length > 2) return false
  const parts = halves.flatMap((h) => (h === "" ? [] : h.split(":")))
  let count = 0
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!
    if (i === parts.length - 1 && p.includes(".")) {
      if (!isIPv4(p)) return false
      count += 2
    } else if (hextet.test(p)) {
      count += 1
    } else {
      return false
    }
  }
  return halves.length === 2 ? count <= 7 : count === 8
}

// An interface index (1..2^32-1, canonical decimal, so that one interface has one spelling) or an
// interface name: IFNAMSIZ is 16 on Linux, macOS and FreeBSD, so at most 15 bytes, and none of
// the characters that would make `host%zone` or `[host%zone]:port` ambiguous.
const zoneIndex = /^[1-9]\d{0,9}$/
const zoneName = /^[\x21-\x7e]{1,15}$/
const zoneForbidden = /[%/:[\]]/

/** Is this a zone id that names one interface, in one spelling? */
export const isZone = (zone: string): boolean =>
  zoneIndex.test(zone) ? Number(zone) <= 0xffffffff : zoneName.test(zone) && !zoneForbidden.test(zone) && !/^\d+$/.test(zone)

/** An IPv6 literal's parts: the address and its zone (`fe80::1%eth0`), or undefined if it is not one. */
export const splitZone = (host: string): { readonly bare: string; readonly zone: string | undefined } => {
  const at = host.indexOf("%")
  return at === -1 ? { bare: host, zone: undefined } : { bare: host.slice(0, at), zone: host.slice(at + 1) }
}

/** 4, 6, or undefined for a host name. An IPv6 literal may carry a zone: `fe80::1%eth0`. */
export const ipVersion = (host: string): 4 | 6 | undefined => {
  if (isIPv4(host)) return 4
  const { bare, zone } = splitZone(host)
  return isIPv6(bare) && (zone === undefined || isZone(zone)) ? 6 : undefined
}

// One part of an inet_aton(3) address: 0x hex (the digits may be empty), 0 octal, or decimal.
const atonPart = (p: string): number | undefined => {
  const n = /^0[xX][0-9a-fA-F]*$/.test(p)
    ? (p.length === 2 ? 0 : parseInt(p.slice(2), 16))
    : /^0[0-7]*$/.test(p)
    ? parseInt(p, 8)
    : /^[1-9]\d*$/.test(p)
    ? parseInt(p, 10)
    : undefined
  return n !== undefined && n <= 0xffffffff ? n : undefined
}

/**
 * The dotted quad inet_aton(3) (and so getaddrinfo(3) without AI_NUMERICHOST) reads from `s`, or
 * undefined when it reads none: one to four parts, each hex, octal or decimal, the last filling
 * the bytes left (`127.1`, `0x7f000001`, `017.0.0.1`).
 */
export const inetAton = (s: string): string | undefined => {
  const parts = s.split(".")
  if (parts.length > 4) return undefined
  const values = parts.map(atonPart)
  if (values.some((v) => v === undefined)) return undefined
  const nums = values as Array<number>
  const last = nums.pop()!
  if (nums.some((v) => v > 255) || last >= 2 ** (8 * (4 - nums.length))) return undefined
  const value = nums.reduce((acc, v, i) => acc + v * 2 ** (8 * (3 - i)), 0) + last
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".")
}

const label = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/
// WHATWG URL's "ends in a number": a last label of digits, or 0x and hex digits, makes the whole
// name an IPv4 address to inet_aton and to browsers, never a name to look up.
const numericLabel = /^(\d+|0[xX][0-9a-fA-F]*)$/

/** Does the name's last label read as a number (so it is an IPv4 form, not a name)? */
export const endsInNumber = (s: string): boolean => {
  const name = s.endsWith(".") ? s.slice(0, -1) : s
  return numericLabel.test(name.slice(name.lastIndexOf(".") + 1))
}

/**
 * RFC 1123 host name (underscores allowed, as service discovery names use them), whose last label
 * is not a number (RFC 3696 section 2: a top-level domain is not all-numeric).
 */
export const isHostName = (s: string): boolean => {
  const name = s.endsWith(".") ? s.slice(0, -1) : s
  return name.length > 0 && name.length <= 253 && name.split(".").every((l) => label.test(l)) && !endsInNumber(name)
}
