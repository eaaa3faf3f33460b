#!/usr/bin/env node
/**
 * service: run the `Visits` service. With `DATABASE_URL` it uses that PostgreSQL; without, it
 * starts an embedded one (PGlite's socket server, from npm) and lets it listen a second late, so
 * the retry shows. `UPSTREAM_URL` is the greeting service; without, a local one is started. At
 * the end the upstream is stopped, to show the service's own error for it.
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import { main } from "./program.js"

NodeRuntime.runMain(main(process.env))
