/**
 * The OpenAPI document of the API: what @nestjs/swagger reads from the controllers and DTO classes, completed with
 * what holds for every operation alike and would otherwise be repeated on each handler: its name (operations.ts),
 * the security it needs (read from the same @Public() metadata the guard decides on, so the two cannot disagree),
 * and the problem+json error responses it can answer.
 */
import type { INestApplication } from '@nestjs/common';
import { GUARDS_METADATA, HEADERS_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { PUBLIC_ROUTE } from '../../modules/identity/http/identity.decorators';
import { PROBLEM_CONTENT_TYPE } from '../../shared/problem/problem';
import { ProblemDto, ProblemFieldErrorDto } from '../../shared/problem/problem.schema';
import { OPERATIONS } from './operations';

const BEARER = 'bearer';
const PROBLEM_REF = { $ref: `#/components/schemas/${ProblemDto.name}` };

type Operation = NonNullable<OpenAPIObject['paths'][string]['get']>;
type Responses = Operation['responses'];

const ERRORS: Record<number, string> = {
  400: 'A parameter, header or body field is not valid (or not known): `errors[]` names each, what is wrong and what is allowed',
  401: 'No valid bearer token',
  403: "The caller's roles or unit do not allow this",
  404: 'No such resource',
  409: 'The case is in a state that does not allow this, or has changed since the expected revision',
  412: 'If-Match names a revision other than the current one',
  422: 'The request is well-formed but the regulation refuses it',
  429: 'Too many requests from this caller; `Retry-After` says when to try again',
  503: 'The read model has not reached the requested position in time, or a store is unavailable; `Retry-After` says when to try again',
};

/** What the document needs of each handler (`Controller_method`) beyond what swagger reads. */
interface HandlerFacts {
  /** Needs no token (@Public(), as the guard reads it); `maybe`: public, with a guard of its own that may ask for one by configuration. */
  publicAccess: Map<string, 'yes' | 'maybe'>;
  /** The content type a handler sets with @Header, where it answers other than JSON. */
  contentTypes: Map<string, string>;
}

function handlerFacts(app: INestApplication): HandlerFacts {
  const facts: HandlerFacts = { publicAccess: new Map(), contentTypes: new Map() };
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const type = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (!type?.prototype) continue;
      const classPublic = Reflect.getMetadata(PUBLIC_ROUTE, type) === true;
      for (const method of Object.getOwnPropertyNames(type.prototype)) {
        const handler = (type.prototype as Record<string, unknown>)[method];
        if (typeof handler !== 'function') continue;
        const name = `${type.name}_${method}`;
        if (classPublic || Reflect.getMetadata(PUBLIC_ROUTE, handler) === true)
          facts.publicAccess.set(
            name,
            ((Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[] | undefined) ?? []).length > 0
              ? 'maybe'
              : 'yes',
          );
        const contentType = (
          (Reflect.getMetadata(HEADERS_METADATA, handler) as { name: string; value: string }[] | undefined) ?? []
        ).find((h) => h.name.toLowerCase() === 'content-type');
        if (contentType) facts.contentTypes.set(name, contentType.value.split(';')[0]!.trim());
      }
    }
  }
  return facts;
}

const problemResponse = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_REF } },
});

function errorStatuses(method: string, path: string, operation: Operation, isPublic: boolean): number[] {
  const statuses = [400, 429];
  if (!isPublic) statuses.push(401, 403);
  if (path.includes('{')) statuses.push(404);
  // The case commands: a rule of the regulation refuses (422); on a case, its state or revision (409, 412 with If-Match).
  if (method === 'post' && path.startsWith('/api/cases'))
    statuses.push(...(path.includes('{caseId}') ? [409, 412, 422] : [422]));
  if ((operation.parameters ?? []).some((p) => 'name' in p && p.name === 'after')) statuses.push(503);
  return statuses.sort((a, b) => a - b);
}

/** The body of a success whose handler declares no response class: its media type, and for JSON an object. */
function successContent(
  media: string | undefined,
): Record<string, { schema: { type: 'string' | 'object'; description?: string; additionalProperties?: boolean } }> {
  if (media === 'text/event-stream')
    return {
      [media]: {
        schema: {
          type: 'string' as const,
          description: 'server-sent events (id:, event:, data: JSON; a comment line as heartbeat)',
        },
      },
    };
  if (media) return { [media]: { schema: { type: 'string' as const } } };
  return { 'application/json': { schema: { type: 'object' as const, additionalProperties: true } } };
}

/** Completes one operation in place. */
function complete(method: string, path: string, operation: Operation, facts: HandlerFacts): void {
  const handler = operation.operationId ?? '';
  const named = OPERATIONS[handler];
  const access = facts.publicAccess.get(handler);
  // Public routes with a guard of their own (the transparency proofs with TRANSPARENCY_ACCESS=auditor) take a token when configured so.
  const isPublic = access === 'yes';
  if (named) {
    operation.operationId = named.operationId;
    operation.summary ??= named.summary;
  }
  operation.security = access === 'yes' ? [] : access === 'maybe' ? [{}, { [BEARER]: [] }] : [{ [BEARER]: [] }];
  const responses: Responses = operation.responses ?? {};
  for (const [status, response] of Object.entries(responses)) {
    if (!/^2/.test(status) || !response || !('description' in response)) continue;
    // A success documented without a body (the default Nest writes) still says what it is.
    if (!response.description) response.description = 'Done';
    if (status !== '204' && !response.content)
      response.content = successContent(named?.media ?? facts.contentTypes.get(handler));
  }
  for (const status of errorStatuses(method, path, operation, isPublic))
    responses[String(status)] ??= problemResponse(ERRORS[status]!);
  for (const [status, meaning] of Object.entries(named?.errors ?? {})) responses[status] ??= problemResponse(meaning);
  operation.responses = responses;
}

export function buildApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('reglament')
      .setDescription(
        'Cases of regulated public services: commands, case views, SLA and audit. Errors are RFC 9457 problem+json ' +
          '(`application/problem+json`) with `errors[]` naming each field at fault. Dates without a time (YYYY-MM-DD) ' +
          "mean the working calendar's zone, Asia/Almaty.",
      )
      .setVersion('0.1.0')
      .setLicense('UNLICENSED', 'https://reglament.kz/license')
      .addServer('/', 'this server')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER)
      .build(),
    { extraModels: [ProblemDto, ProblemFieldErrorDto] },
  );
  const facts = handlerFacts(app);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const operation = item[method];
      if (operation) complete(method, path, operation, facts);
    }
  }
  return document;
}
