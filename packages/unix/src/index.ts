/**
 * @since 0.1.0
 */

/**
 * AF_UNIX addresses checked against this platform's sun_path.
 *
 * @since 0.1.0
 */
export * as UnixAddress from "./UnixAddress.js"

/**
 * A `Connector` whose unix path errors say which component failed and why.
 *
 * @since 0.1.0
 */
export * as UnixConnector from "./UnixConnector.js"
