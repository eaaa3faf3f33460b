// Unix path and abstract name text <-> the bytes the kernel sees, losslessly both ways.
//
// The kernel's names are bytes; ours are strings. Text is UTF-8. A byte the kernel gives us that
// is not part of well-formed UTF-8 (0x80..0xFF) is kept as the lone surrogate U+DC80..U+DCFF
// (Python's "surrogateescape", PEP 383), so two different names never decode to one string, and
// a received name encodes back to the very bytes it came from. Any other lone surrogate has no
// bytes, and neither do escapes whose bytes would read as UTF-8 (they would be a second spelling
// of a name that has its own): both are refused, never replaced by U+FFFD.

export type Encoded = Uint8Array | { readonly index: number; readonly reason: string }

const surrogate = /[\uD800-\uDFFF]/
const encoder = new TextEncoder()

/** The kernel's bytes for a name, or where and why it has none. */
export const encode = (name: string): Encoded => {
  if (!surrogate.test(name)) return encoder.encode(name)
  const out: Array<number> = []
  let escaped = false
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c < 0xd800 || c > 0xdfff) {
      out.push(...encoder.encode(name[i]!))
    } else if (c <= 0xdbff && i + 1 < name.length && (name.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out.push(...encoder.encode(name.slice(i, i + 2)))
      i++
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      out.push(c - 0xdc00)
      escaped = true
    } else {
      return { index: i, reason: `contains a lone surrogate at index ${i}` }
    }
  }
  const bytes = Uint8Array.from(out)
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

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** The name the kernel's bytes stand for: UTF-8, with each byte outside it as U+DC80..U+DCFF. */
export const decode = (bytes: Uint8Array): string => {
  try {
    return decoder.decode(bytes)
  } catch {
    let out = ""
    for (let i = 0; i < bytes.length;) {
      const length = bytes[i]! < 0x80 ? 1 : sequence(bytes, i)
      if (length === 0) {
        out += String.fromCharCode(0xdc00 + bytes[i]!)
        i++
      } else {
        out += decoder.decode(bytes.subarray(i, i + length))
        i += length
      }
    }
    return out
  }
}
