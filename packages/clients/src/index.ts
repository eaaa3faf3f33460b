/**
 * The clients whose adapters need no client's types: import them from here. The adapters that
 * name a client's own types (`SqlPg`, `Undici`, `Ioredis`) are entry points of their own,
 * `@effect-connect/clients/SqlPg` and so on, so that a project without that client still
 * type-checks with `skipLibCheck` off.
 *
 * @since 0.1.0
 */

/**
 * Our connect as a socket factory, and the `Dial` every entry takes.
 *
 * @since 0.1.0
 */
export * as SocketFactory from "./SocketFactory.js"

/**
 * pg's `stream` option.
 *
 * @since 0.1.0
 */
export * as Pg from "./Pg.js"

/**
 * postgres.js's `socket` option.
 *
 * @since 0.1.0
 */
export * as Postgres from "./Postgres.js"

/**
 * A node:http / node:https `Agent`.
 *
 * @since 0.1.0
 */
export * as Http from "./Http.js"

/**
 * mysql2's `stream` option.
 *
 * @since 0.1.0
 */
export * as Mysql2 from "./Mysql2.js"
