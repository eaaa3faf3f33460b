/**
 * AF_UNIX addresses, checked against this platform before any syscall: a NUL byte or an empty
 * path is `InvalidAddress`; a path (or abstract name) longer than sun_path is `NameTooLong`
 * with the limit. Lengths are in bytes, as the kernel counts them (UTF-8). Linux takes a path
 * that fills sun_path, unterminated; elsewhere a path needs room for its terminator.
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

/**
 * Whether a path is too long for sun_path here (see `Raw.maxPathBytes`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTooLong = (p: string): boolean => Buffer.byteLength(p, "utf8") > Raw.maxPathBytes

const checked = <A extends Address.Unix>(address: A, tooLong: boolean) =>
  Effect.flatMap(Address.validate(address), (valid) =>
    tooLong
      ? Effect.fail(ConnectError.nameTooLong(Address.format(address), limit, "connect", Errno.currentPlatform))
      : Effect.succeed(valid))

/**
 * A socket file's path. Relative paths are relative to the working directory at connect time.
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
    ? checked(Address.abstract(name), 1 + Buffer.byteLength(name, "utf8") > limit)
    : Effect.fail(
      new ConnectError.InvalidAddress({ input: `unix-abstract:${name}`, field: "family", reason: "abstract names are Linux only" })
    )
