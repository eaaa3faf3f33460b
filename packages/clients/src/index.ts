/**
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
 * @effect/sql-pg's `PgClient` and `SqlClient` over our connect.
 *
 * @since 0.1.0
 */
export * as SqlPg from "./SqlPg.js"

/**
 * postgres.js's `socket` option.
 *
 * @since 0.1.0
 */
export * as Postgres from "./Postgres.js"

/**
 * undici's `connect` option, and Effect's `HttpClient` (`effect/http`) over it.
 *
 * @since 0.1.0
 */
export * as Undici from "./Undici.js"

/**
 * A node:http / node:https `Agent`.
 *
 * @since 0.1.0
 */
export * as Http from "./Http.js"

/**
 * ioredis's `Connector` option.
 *
 * @since 0.1.0
 */
export * as Ioredis from "./Ioredis.js"

/**
 * mysql2's `stream` option.
 *
 * @since 0.1.0
 */
export * as Mysql2 from "./Mysql2.js"
