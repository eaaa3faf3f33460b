/**
 * AF_UNIX addresses, checked against this platform before any syscall: an empty or relative
 * path, a NUL byte in a path, and text with no exact bytes (a lone surrogate) are
 * `InvalidAddress`; a path (or abstract name) longer than sun_path is `NameTooLong` with the
 * limit. Lengths are in bytes, as the kernel counts them (`Address.encodeName`: UTF-8, with
 * U+DC80..U+DCFF standing for single bytes that are not UTF-8), terminator included.
 *
 * @since 0.1.0
 */
import { Address, ConnectError, Errno } from "@effect-connect/core"
import { Raw } from "@effect-connect/native"
import { Effect } from "effect"

/**
 * sun_path's size here, the terminator included: 108 on Linux, 104 on macOS and FreeBSD.
 *
 * @since 0.1.0
 * @category constants
 */
export const limit: number = Raw.sunPathMax

// The kernel's byte count; text without bytes is refused by the check before the count matters.
const byteLength = (text: string) => Address.encodeName(text)?.length ?? 0

const checked = <A extends Address.Unix>(address: A, bytes: number) =>
  Effect.flatMap(Address.validate(address), (valid) =>
    bytes > limit
      ? Effect.fail(ConnectError.nameTooLong(Address.format(address), limit, "connect", Errno.currentPlatform))
      : Effect.succeed(valid))

/**
 * A socket file's absolute path. A relative one is `InvalidAddress`: an address names one
 * socket, whatever the working directory at connect time (resolve it first, on purpose).
 *
 * @since 0.1.0
 * @category constructors
 */
export const path = (p: string): Effect.Effect<Address.UnixPath, ConnectError.InvalidAddress | ConnectError.NameTooLong> =>
  checked(Address.unix(p), byteLength(p) + 1)

/**
 * A Linux abstract socket name: no file, gone when its socket closes. The kernel's leading NUL
 * byte counts against the limit; there is no terminator.
 *
 * @since 0.1.0
 * @category constructors
 */
export const abstract = (name: string): Effect.Effect<Address.Abstract, ConnectError.InvalidAddress | ConnectError.NameTooLong> =>
  Errno.currentPlatform === "linux"
    ? checked(Address.abstract(name), 1 + byteLength(name))
    : Effect.fail(
      new ConnectError.InvalidAddress({ input: `unix-abstract:${name}`, field: "family", reason: "abstract names are Linux only" })
    )
