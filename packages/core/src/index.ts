/**
 * @since 0.1.0
 */

/**
 * Addresses: tcp, unix path, abstract, unspecified; `parse` and `validate`.
 *
 * @since 0.1.0
 */
export * as Address from "./Address.js"

/**
 * The tagged error classes, their unions and `fromErrno`.
 *
 * @since 0.1.0
 */
export * as ConnectError from "./ConnectError.js"

/**
 * The connected socket a `Connector` hands out.
 *
 * @since 0.1.0
 */
export * as Connection from "./Connection.js"

/**
 * The `Connector` service and `make`, for platforms.
 *
 * @since 0.1.0
 */
export * as Connector from "./Connector.js"

/**
 * The errno table.
 *
 * @since 0.1.0
 */
export * as Errno from "./Errno.js"

/**
 * Backoff, retry, deadline and racing.
 *
 * @since 0.1.0
 */
export * as Policy from "./Policy.js"

/**
 * The `Resolver` service.
 *
 * @since 0.1.0
 */
export * as Resolver from "./Resolver.js"

/**
 * A scripted `Connector` for deterministic policy tests.
 *
 * @since 0.1.0
 */
export * as ScriptedConnector from "./ScriptedConnector.js"
