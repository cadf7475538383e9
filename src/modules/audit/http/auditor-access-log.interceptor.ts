/**
 * Every request of a caller with the auditor role is itself recorded, durably, before its answer leaves:
 * who (id, name, roles, unit), what (method, path, status) and when, as an `AuditorAccess` event in the
 * day's `access-log-YYYY-MM-DD` stream, and as a log line.
 */
import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { catchError, from, mergeMap, throwError, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import { EVENT_LOG, type EventLog } from '../../event-log/event-log.port';
import type { Principal } from '../../identity/domain/principal';
import { ProblemError } from '../../../app/problem/problem';

export const AUDIT_LOGGER = Symbol('AUDIT_LOGGER');
export const ACCESS_LOG_PREFIX = 'access-log-';
export const AUDITOR_ACCESS = 'AuditorAccess';

interface RequestLike {
  id: string;
  method: string;
  url: string;
  routeOptions?: { url?: string };
  principal?: Principal;
}

@Injectable()
export class AuditorAccessLog implements NestInterceptor {
  constructor(
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(AUDIT_LOGGER) private readonly logger: Logger,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<RequestLike>();
    const principal = request.principal;
    if (!principal?.roles.includes('auditor')) return next.handle();
    return next.handle().pipe(
      mergeMap((body) => from(this.record(request, principal, 200).then(() => body))),
      catchError((error: unknown) => from(this.record(request, principal, error instanceof ProblemError ? error.status : 500)).pipe(mergeMap(() => throwError(() => error)))),
    );
  }

  private async record(request: RequestLike, principal: Principal, status: number): Promise<void> {
    const at = new Date();
    const entry = { method: request.method, path: request.url, route: request.routeOptions?.url ?? null, status };
    await this.log.append(
      `${ACCESS_LOG_PREFIX}${at.toISOString().slice(0, 10)}`,
      [{ id: randomUUID(), type: AUDITOR_ACCESS, data: entry, metadata: { actor: { id: principal.id, name: principal.name, roles: principal.roles, unit: principal.unit }, recordedAt: at.toISOString(), correlationId: request.id } }],
      'any',
    );
    this.logger.info({ auditor: principal.id, ...entry, correlationId: request.id }, 'auditor access');
  }
}
