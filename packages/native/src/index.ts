/**
 * @since 0.1.0
 */

/**
 * `NativeConnector.layer`: core's `Connector` on the native addon.
 *
 * @since 0.1.0
 */
export * as NativeConnector from "./NativeConnector.js"

/**
 * The default `Resolver`, on `node:dns`.
 *
 * @since 0.1.0
 */
export * as NodeResolver from "./NodeResolver.js"

/**
 * One syscall per function, every errno as its tagged error.
 *
 * @since 0.1.0
 */
export * as Raw from "./Raw.js"

/**
 * Datagram sockets: associate, re-associate, dissolve.
 *
 * @since 0.1.0
 */
export * as Datagram from "./Datagram.js"

/**
 * `NodeConnector.layer`: core's `Connector` on `node:net`, the portable one.
 *
 * @since 0.2.0
 */
export * as NodeConnector from "./NodeConnector.js"

/**
 * Whether the native addon loads here, and why not: `NativeConnector.layer` falls back to
 * `NodeConnector` where it cannot.
 *
 * @since 0.2.0
 */
export * as Addon from "./Addon.js"
