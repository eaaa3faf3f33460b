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

/** 4, 6, or undefined for a host name. An IPv6 literal may carry a zone: `fe80::1%eth0`. */
export const ipVersion = (host: string): 4 | 6 | undefined => {
  if (isIPv4(host)) return 4
  const zone = host.indexOf("%")
  const bare = zone === -1 ? host : host.slice(0, zone)
  if (isIPv6(bare) && (zone === -1 || zone < host.length - 1)) return 6
  return undefined
}

const label = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/

/** RFC 1123 host name (underscores allowed, as service discovery names use them). */
export const isHostName = (s: string): boolean => {
  const name = s.endsWith(".") ? s.slice(0, -1) : s
  return name.length > 0 && name.length <= 253 && name.split(".").every((l) => label.test(l)) &&
    !/^[\d.]+$/.test(name)
}
