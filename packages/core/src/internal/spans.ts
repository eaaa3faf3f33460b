// What a span says of the error it ended with, for the attempt's span and the spans around the
// policies' loops alike: OpenTelemetry's error.type, and ours, the errno and where on a unix path
// the connect failed. Read from any error (a loop runs whatever it is given): a field that is not
// ours is left out.

export const failureAttributes = (type: string, error: unknown): Record<string, unknown> => {
  const attributes: Record<string, unknown> = { "error.type": type }
  if (typeof error !== "object" || error === null) return attributes
  const { errno, diagnosis } = error as { readonly errno?: unknown; readonly diagnosis?: unknown }
  if (typeof errno === "string") attributes["connect.errno"] = errno
  if (typeof diagnosis === "object" && diagnosis !== null) {
    const { component, problem } = diagnosis as { readonly component?: unknown; readonly problem?: unknown }
    if (typeof component === "string" && typeof problem === "string") {
      attributes["connect.diagnosis.component"] = component
      attributes["connect.diagnosis.problem"] = problem
    }
  }
  return attributes
}
