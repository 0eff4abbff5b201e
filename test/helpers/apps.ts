import express5 from 'express'
import express4 from 'express4'

/** Both Express majors, for `describe.each(expressVersions)`. */
export const expressVersions = [
  { name: 'express 4', express: express4 as unknown as typeof express5 },
  { name: 'express 5', express: express5 },
] as const
