import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthDto, LivenessDto, ReadinessDto } from './health-responses';
import type { FastifyReply } from 'fastify';
import { EVENT_LOG, type EventLog } from '../../modules/event-log/event-log.port';
import { READ_STORE, type ReadStore } from '../../modules/read-store/read-store.port';
import { Public } from '../../modules/identity/http/identity.decorators';
import { Metrics } from '../metrics/metrics';
import { PROJECTION_STATUS, type ProjectionStatusSource } from '../../projections/projection-status';
import { webhookStats } from '../../modules/deadline-alerts/webhooks/webhook-dispatcher';
import { STORAGE_FAULTS, StorageFaults } from '../storage-faults';
import { APP_CONFIG, type AppConfig } from '../../shared/config/config';
import { AHEAD_OF_LOG, type ProjectionHealth } from '../../projections/projection-status';
import { overdueCounts } from '../../modules/compliance/compliance.queries';

interface ComponentHealth {
  status: 'up' | 'down' | 'degraded';
  kind?: string;
  error?: string;
  [detail: string]: unknown;
}

async function probe(kind: string, check: () => Promise<Record<string, unknown> | void>): Promise<ComponentHealth> {
  try {
    return { status: 'up', kind, ...((await check()) ?? {}) };
  } catch (error) {
    return { status: 'down', kind, error: error instanceof Error ? error.message : String(error) };
  }
}

function isStale(p: ProjectionHealth, staleAfterSeconds: number): boolean {
  return (p.lagSeconds ?? 0) > staleAfterSeconds;
}

/**
 * `down`: a store does not answer, or a projection failed on an event it cannot apply (its model stays behind until a
 * fix). `degraded`: everything answers but something needs watching: a store refuses writes (full disk, damaged log),
 * a projection is retrying (a store error, a dropped subscription), one is more than PROJECTION_STALE_SECONDS
 * behind the log, or one's build is ahead of the log (served as "being built" until the projections' start rebuilds
 * it). Both answer 503, so a load balancer and an alert see them.
 */
export function overallHealth(
  stores: ReadonlyArray<'up' | 'down' | 'degraded'>,
  projections: readonly ProjectionHealth[],
  staleAfterSeconds: number,
): 'up' | 'down' | 'degraded' {
  if (stores.includes('down') || projections.some((p) => p.state === 'failed')) return 'down';
  if (
    stores.includes('degraded') ||
    projections.some((p) => p.state === 'retrying' || p.state === AHEAD_OF_LOG || isStale(p, staleAfterSeconds))
  )
    return 'degraded';
  return 'up';
}

/**
 * Readiness: whether this process should be sent traffic. Not ready while a store does not answer or refuses writes
 * (a full disk, a damaged log), a projection failed or its build is ahead of the log, or a read model is further behind the log than
 * PROJECTION_STALE_SECONDS. A projection retrying within that bound is still ready: /health shows it as degraded.
 * Pure: the reasons, empty when ready.
 */
export function readinessProblems(
  stores: Record<string, ComponentHealth>,
  projections: readonly ProjectionHealth[],
  staleAfterSeconds: number,
): string[] {
  const reasons: string[] = [];
  for (const [name, store] of Object.entries(stores)) {
    // Fixed words only: the route is public, and the error text and the file's path stay in /health's detail and the log.
    if (store.status === 'down') reasons.push(`${name} does not answer`);
    else if (store.status === 'degraded')
      reasons.push(
        `${name} refuses writes${store.storage ? ` (${JSON.stringify({ kind: (store.storage as { kind?: unknown }).kind })})` : ''}`,
      );
  }
  for (const p of projections) {
    if (p.state === 'failed') reasons.push(`projection ${p.name} failed`);
    else if (p.state === AHEAD_OF_LOG) reasons.push(`projection ${p.name} is ahead of the log: it waits to be rebuilt`);
    else if (isStale(p, staleAfterSeconds))
      reasons.push(
        `projection ${p.name} is ${Math.round(p.lagSeconds ?? 0)} s behind the log (more than ${staleAfterSeconds} s)`,
      );
  }
  return reasons;
}

/** Public by design: load balancers and Prometheus scrape these without a token; they carry no case data. */
@ApiTags('operations')
@Public()
@Controller()
export class HealthController {
  constructor(
    @Inject(EVENT_LOG) private readonly eventLog: EventLog,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(PROJECTION_STATUS) private readonly projections: ProjectionStatusSource,
    private readonly metrics: Metrics,
    @Inject(STORAGE_FAULTS) private readonly storageFaults: StorageFaults,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('health')
  @ApiOperation({
    summary:
      'Event log, read store and projections: up/down/degraded, positions and lag. 503 when any is down, degraded (a full disk, a damaged log: writes refused; a projection retrying or behind by more than PROJECTION_STALE_SECONDS) or failed.',
  })
  @ApiOkResponse({ type: HealthDto, description: 'Everything is up (the same body with 503 when not)' })
  async health(@Res({ passthrough: true }) reply: FastifyReply) {
    const { eventLog, readStore, projections } = await this.inspect();
    const status = overallHealth([eventLog.status, readStore.status], projections, this.config.projectionStaleSeconds);
    void reply.status(status === 'up' ? 200 : 503);
    return {
      status,
      eventLog,
      readStore,
      projections: projections.map((p) => (isStale(p, this.config.projectionStaleSeconds) ? { ...p, stale: true } : p)),
    };
  }

  /** Liveness: the process answers. Restart it only when this fails; it reads no store, so a slow disk never fails it. */
  @Get('health/live')
  @ApiOperation({
    summary:
      'Liveness: 200 while the process answers HTTP. A container orchestrator restarts the process when this fails.',
  })
  @ApiOkResponse({ type: LivenessDto, description: 'The process answers' })
  live() {
    return { status: 'up' };
  }

  @Get('health/ready')
  @ApiOperation({
    summary:
      'Readiness: 200 when the stores answer and take writes (no full disk, no damaged log), no projection failed, and every read model is within PROJECTION_STALE_SECONDS of the log; else 503 with the reasons.',
  })
  @ApiOkResponse({
    type: ReadinessDto,
    description: 'Ready for traffic (the same body with 503 and the reasons when not)',
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const { eventLog, readStore, projections } = await this.inspect();
    const reasons = readinessProblems({ eventLog, readStore }, projections, this.config.projectionStaleSeconds);
    void reply.status(reasons.length === 0 ? 200 : 503);
    return { status: reasons.length === 0 ? 'ready' : 'not-ready', reasons };
  }

  private async inspect(): Promise<{
    eventLog: ComponentHealth;
    readStore: ComponentHealth;
    projections: ProjectionHealth[];
  }> {
    const eventLog = await probe(this.eventLog.kind, async () => {
      await this.eventLog.ping();
      return { headPosition: await this.eventLog.headPosition() };
    });
    const fault = this.storageFaults.current;
    // Reads still work while writes are refused: the log is degraded, not down.
    if (fault && eventLog.status === 'up') Object.assign(eventLog, { status: 'degraded', storage: fault });
    const readStore = await probe(this.readStore.kind, () => this.readStore.ping());
    const readStoreFault = this.storageFaults.readStore;
    // Projections wait a full read store out: reads still answer, the models fall behind.
    if (readStoreFault && readStore.status === 'up')
      Object.assign(readStore, { status: 'degraded', storage: readStoreFault });
    const projections = await this.projections
      .status()
      .catch((error: Error): ProjectionHealth[] => [{ name: '*', state: 'failed', error: { message: error.message } }]);
    return { eventLog, readStore, projections };
  }

  @Get('metrics')
  @ApiOperation({
    summary:
      'Prometheus metrics: append latency, projection (read-model) lag, overdue steps, HTTP, and the standard process_* and nodejs_* metrics',
  })
  async metricsText(@Res() reply: FastifyReply) {
    const [head, projections] = await Promise.all([
      this.eventLog.headPosition().catch(() => null),
      this.projections.status().catch(() => []),
    ]);
    if (head !== null) this.metrics.logHead.set(head);
    for (const p of projections) {
      this.metrics.projectionLagEvents.set({ projection: p.name }, p.lagEvents ?? 0);
      this.metrics.projectionLagSeconds.set({ projection: p.name }, p.lagSeconds ?? 0);
      this.metrics.projectionPosition.set({ projection: p.name }, p.checkpoint ?? 0);
    }
    const webhooks = await webhookStats(this.readStore, new Date()).catch(() => null);
    if (webhooks) {
      for (const status of ['pending', 'delivered', 'dead'] as const)
        this.metrics.webhookDeliveries.set({ status }, webhooks[status]);
      this.metrics.webhookLagSeconds.set(webhooks.lagSeconds);
      this.metrics.webhookOutboxPosition.set(webhooks.position);
    }
    // A compliance model not built yet (a first build running) has no count to give: the gauge stays empty.
    const overdue = this.projections.readModels
      ? await overdueCounts(this.projections.readModels, new Date()).catch(() => null)
      : null;
    if (overdue) {
      // By regulation only: /metrics is public, and units (and their counts) are for the roles that may read them.
      const byRegulation = new Map<string, number>();
      for (const o of overdue) byRegulation.set(o.serviceId, (byRegulation.get(o.serviceId) ?? 0) + o.count);
      this.metrics.overdueSteps.reset();
      for (const [regulation, count] of byRegulation) this.metrics.overdueSteps.set({ regulation }, count);
    }
    const deadlines = this.projections.deadlineStatus?.() ?? null;
    if (deadlines) {
      this.metrics.deadlineOpenCases.set(deadlines.openCases);
      this.metrics.deadlineDueCases.set(deadlines.dueCases);
      this.metrics.deadlineLagSeconds.set(deadlines.lagSeconds);
    }
    void reply.header('content-type', this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
