/**
 * The OpenAPI schema of a step's `data`, derived from the zod schemas the command checks it with (one definition
 * for the check and the document): any of the event types' data, each titled with its event type. `anyOf`, not
 * `oneOf`: several types take an object with optional fields only, so one body can match more than one of them.
 */
import { z } from 'zod';
import { STEP_DATA_SCHEMAS } from '../domain/case-event-data';

/** Written by the filing itself (POST /api/cases), never as a step's data. */
const NOT_A_STEP: ReadonlySet<string> = new Set(['ApplicationSubmitted']);

function jsonSchemaOf(eventType: string, schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return { title: eventType, description: `data of ${eventType}`, ...json };
}

export const STEP_DATA_ANY_OF: readonly Record<string, unknown>[] = Object.entries(STEP_DATA_SCHEMAS)
  .filter(([eventType]) => !NOT_A_STEP.has(eventType))
  .map(([eventType, schema]) => jsonSchemaOf(eventType, schema));
