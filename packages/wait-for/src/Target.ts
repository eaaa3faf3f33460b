/**
 * What wait-for waits for: a socket address (through `Address.parse`, so the library's own
 * validation says what is wrong) or an http(s) URL, whose connect is ours too.
 *
 * @since 0.1.0
 */
import { Address } from "@effect-connect/core"
import { Effect, Result } from "effect"

/**
 * A target as given on the command line (`input`), with what to connect to.
 *
 * @since 0.1.0
 * @category models
 */
export type Target =
  | { readonly _tag: "Socket"; readonly input: string; readonly address: Address.Address }
  | { readonly _tag: "Http"; readonly input: string; readonly url: URL; readonly address: Address.Tcp }

/**
 * The http statuses that count as up: inclusive ranges.
 *
 * @since 0.1.0
 * @category models
 */
export type StatusSet = ReadonlyArray<readonly [number, number]>

/**
 * Reads `200-399`, `200,204`, `200-299,404`: the set, or what is wrong with it.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseStatuses = (text: string): StatusSet | string => {
  const set: Array<readonly [number, number]> = []
  for (const part of text.split(",")) {
    const m = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part)
    const low = Number(m?.[1])
    const high = Number(m?.[2] ?? m?.[1])
    if (m === null || low < 100 || high > 599 || low > high) {
      return `${JSON.stringify(part)} is not a status code or range between 100 and 599 (e.g. 200-399,404)`
    }
    set.push([low, high])
  }
  return set
}

/**
 * Is `status` in the set?
 *
 * @since 0.1.0
 * @category predicates
 */
export const accepts = (set: StatusSet, status: number): boolean => set.some(([low, high]) => status >= low && status <= high)

const parseAddress = (input: string, url: string): Address.Address | string =>
  Result.match(Effect.runSync(Effect.result(Address.parse(url))), {
    onFailure: (e) => `${input}: ${e.field} ${e.reason}`,
    onSuccess: (address) => address
  })

/**
 * Reads one target: `tcp://host:port`, `host:port`, `[v6]:port`, `unix:///path`,
 * `unix-abstract:name`, `http://...` or `https://...`. The target, or what is wrong with it.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Target | string => {
  if (/^https?:/i.test(input)) {
    let url: URL
    try {
      url = new URL(input)
    } catch {
      return `${input}: not a valid URL`
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
    const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port)
    const address = parseAddress(input, Address.format(Address.tcp(host, port)))
    return typeof address === "string" ? address : { _tag: "Http", input, url, address: address as Address.Tcp }
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(input)?.[1]?.toLowerCase()
  if (scheme !== undefined && scheme !== "tcp" && scheme !== "unix") {
    return `${input}: ${scheme}:// is not a target: use tcp://host:port, host:port, unix:///path, unix-abstract:name, http:// or https://`
  }
  // host:port and [v6]:port are tcp; so is anything else without a scheme, for the error message.
  const url = /^(tcp|unix|unix-abstract):/i.test(input) ? input : `tcp://${input}`
  const address = parseAddress(input, url)
  return typeof address === "string" ? address : { _tag: "Socket", input, address }
}
