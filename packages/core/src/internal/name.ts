// Unix path and abstract name text <-> the bytes the kernel sees, losslessly both ways.
//
// The kernel's names are bytes; ours are strings. Text is UTF-8. A byte the kernel gives us that
// is not part of well-formed UTF-8 (0x80..0xFF) is kept as the lone surrogate U+DC80..U+DCFF
// (Python's "surrogateescape", PEP 383), so two different names never decode to one string, and
// a received name encodes back to the very bytes it came from. Any other lone surrogate has no
// bytes, and neither do escapes whose bytes would read as UTF-8 (they would be a second spelling
// of a name that has its own): both are refused, never replaced by U+FFFD.

export type Encoded = Uint8Array | Problem
export interface Problem {
  readonly index: number
  readonly reason: string
}

const surrogate = /[\uD800-\uDFFF]/

/** Why a name has no bytes, or undefined. Cheap for the usual name, which has no surrogate. */
export const problem = (name: string): Problem | undefined => {
  if (!surrogate.test(name)) return undefined
  const bytes = encode(name)
  return "reason" in bytes ? bytes : undefined
}

/** The kernel's bytes for a name, or where and why it has none. */
export const encode = (name: string): Encoded => {
  // UTF-8 by hand: TextEncoder costs a microsecond on a short string, five times this loop.
  const out = new Uint8Array(name.length * 3)
  let n = 0
  let escaped = false
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c < 0x80) {
      out[n++] = c
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6)
      out[n++] = 0x80 | (c & 0x3f)
    } else if (c < 0xd800 || c > 0xdfff) {
      out[n++] = 0xe0 | (c >> 12)
      out[n++] = 0x80 | ((c >> 6) & 0x3f)
      out[n++] = 0x80 | (c & 0x3f)
    } else if (c <= 0xdbff && (name.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (name.charCodeAt(++i) - 0xdc00)
      out[n++] = 0xf0 | (cp >> 18)
      out[n++] = 0x80 | ((cp >> 12) & 0x3f)
      out[n++] = 0x80 | ((cp >> 6) & 0x3f)
      out[n++] = 0x80 | (cp & 0x3f)
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      out[n++] = c - 0xdc00
      escaped = true
    } else {
      return { index: i, reason: `contains a lone surrogate at index ${i}` }
    }
  }
  const bytes = out.slice(0, n)
  if (escaped) {
    const back = decode(bytes)
    if (back !== name) {
      let i = 0
      while (back[i] === name[i]) i++
      return {
        index: i,
        reason: `has escaped bytes (U+DC80..U+DCFF) at index ${i} that spell UTF-8 text: write the text itself`
      }
    }
  }
  return bytes
}

// The length of the well-formed UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0.
const sequence = (bytes: Uint8Array, i: number): number => {
  const b = bytes[i]!
  const [length, low, high] = b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf]
    : b === 0xe0 ? [3, 0xa0, 0xbf]
    : b === 0xed ? [3, 0x80, 0x9f]
    : b >= 0xe1 && b <= 0xef ? [3, 0x80, 0xbf]
    : b === 0xf0 ? [4, 0x90, 0xbf]
    : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf]
    : b === 0xf4 ? [4, 0x80, 0x8f]
    : [0, 0, 0]
  if (length === 0 || i + length > bytes.length) return 0
  const second = bytes[i + 1]!
  if (second < low || second > high) return 0
  for (let k = i + 2; k < i + length; k++) if ((bytes[k]! & 0xc0) !== 0x80) return 0
  return length
}

/** The name the kernel's bytes stand for: UTF-8, with each byte outside it as U+DC80..U+DCFF. */
export const decode = (bytes: Uint8Array): string => {
  const units: Array<number> = []
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!
    const length = b < 0x80 ? 1 : sequence(bytes, i)
    if (length === 0) {
      units.push(0xdc00 + b)
      i++
      continue
    }
    let cp = length === 1 ? b : b & (0xff >> (length + 1))
    for (let k = 1; k < length; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f)
    if (cp >= 0x10000) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff))
    else units.push(cp)
    i += length
  }
  let out = ""
  // fromCharCode takes its arguments on the stack: in slices, whatever the name's length.
  for (let i = 0; i < units.length; i += 4096) out += String.fromCharCode(...units.slice(i, i + 4096))
  return out
}
