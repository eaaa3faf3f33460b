/**
 * AF_UNIX addresses, checked against this platform before any syscall: an empty or relative
 * path, a NUL byte in a path, and text with no exact bytes (a lone surrogate) are
 * `InvalidAddress`; a path (or abstract name) longer than sun_path is `NameTooLong` with the
 * limit. Lengths are in bytes, as the kernel counts them (`Address.encodeName`: UTF-8, with
 * U+DC80..U+DCFF standing for single bytes that are not UTF-8). Linux takes a path that fills
 * sun_path, unterminated; elsewhere a path needs room for its terminator.
 *
 * @since 0.1.0
 */
import { Address, ConnectError, Errno } from "@effect-connect/core"
import { Raw } from "@effect-connect/native"
import { Effect } from "effect"

/**
 * sun_path's size here: 108 on Linux, 104 on macOS and FreeBSD. A path may fill it on Linux; it
 * must leave a byte for the terminator elsewhere (see `Raw.maxPathBytes`).
 *
 * @since 0.1.0
 * @category constants
 */
export const limit: number = Raw.sunPathMax

// The kernel's byte count; text without bytes is refused by the check before the count matters.
const byteLength = (text: string) => typeof text === "string" ? Address.encodeName(text)?.length ?? 0 : 0

/**
 * Whether a path is too long for sun_path here (see `Raw.maxPathBytes`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTooLong = (p: string): boolean => byteLength(p) > Raw.maxPathBytes

const checked = <A extends Address.Unix>(address: A, tooLong: boolean) =>
  Effect.flatMap(Address.validate(address), (valid) =>
    tooLong
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
  checked(Address.unix(p), isTooLong(p))

/**
 * A Linux abstract socket name: no file, gone when its socket closes. The kernel's leading NUL
 * byte counts against the limit; there is no terminator.
 *
 * @since 0.1.0
 * @category constructors
 */
export const abstract = (name: string): Effect.Effect<Address.Abstract, ConnectError.InvalidAddress | ConnectError.NameTooLong> =>
  Errno.currentPlatform === "linux"
    ? checked(Address.abstract(name), 1 + byteLength(name) > limit)
    : Effect.fail(
      new ConnectError.InvalidAddress({ input: Address.format(Address.abstract(name)), field: "family", reason: "abstract names are Linux only" })
    )
