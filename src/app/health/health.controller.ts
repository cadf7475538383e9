import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EVENT_LOG, type EventLog } from '../../modules/event-log/event-log.port';
import { READ_STORE, type ReadStore } from '../../modules/read-store/read-store.port';
import { Public } from '../../modules/identity/http/identity.decorators';
import { Metrics } from '../metrics/metrics';
import { PROJECTION_STATUS, type ProjectionStatusSource } from './projection-status';
import { webhookStats } from '../../modules/deadline-alerts/webhooks/webhook-dispatcher';
import { STORAGE_FAULTS, StorageFaults } from '../storage-faults';
import { APP_CONFIG, type AppConfig } from '../../shared/config/config';
import type { ProjectionHealth } from './projection-status';

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
 * a projection is retrying (a store error, a dropped subscription), or one is more than PROJECTION_STALE_SECONDS
 * behind the log. Both answer 503, so a load balancer and an alert see them.
 */
export function overallHealth(stores: ReadonlyArray<'up' | 'down' | 'degraded'>, projections: readonly ProjectionHealth[], staleAfterSeconds: number): 'up' | 'down' | 'degraded' {
  if (stores.includes('down') || projections.some((p) => p.state === 'failed')) return 'down';
  if (stores.includes('degraded') || projections.some((p) => p.state === 'retrying' || isStale(p, staleAfterSeconds))) return 'degraded';
  return 'up';
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
  @ApiOperation({ summary: 'Event log, read store and projections: up/down/degraded, positions and lag. 503 when any is down, degraded (a full disk, a damaged log: writes refused; a projection retrying or behind by more than PROJECTION_STALE_SECONDS) or failed.' })
  @ApiOkResponse({ description: 'Everything is up' })
  async health(@Res({ passthrough: true }) reply: FastifyReply) {
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
    if (readStoreFault && readStore.status === 'up') Object.assign(readStore, { status: 'degraded', storage: readStoreFault });
    const projections = await this.projections.status().catch((error: Error) => [{ name: '*', state: 'failed', error: { message: error.message } }]);
    const status = overallHealth([eventLog.status, readStore.status], projections, this.config.projectionStaleSeconds);
    void reply.status(status === 'up' ? 200 : 503);
    return { status, eventLog, readStore, projections: projections.map((p) => (isStale(p, this.config.projectionStaleSeconds) ? { ...p, stale: true } : p)) };
  }

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics: append latency, projection lag, HTTP' })
  async metricsText(@Res() reply: FastifyReply) {
    const [head, projections] = await Promise.all([this.eventLog.headPosition().catch(() => null), this.projections.status().catch(() => [])]);
    if (head !== null) this.metrics.logHead.set(head);
    for (const p of projections) {
      this.metrics.projectionLagEvents.set({ projection: p.name }, p.lagEvents ?? 0);
      this.metrics.projectionLagSeconds.set({ projection: p.name }, p.lagSeconds ?? 0);
      this.metrics.projectionPosition.set({ projection: p.name }, p.checkpoint ?? 0);
    }
    const webhooks = await webhookStats(this.readStore, new Date()).catch(() => null);
    if (webhooks) {
      for (const status of ['pending', 'delivered', 'dead'] as const) this.metrics.webhookDeliveries.set({ status }, webhooks[status]);
      this.metrics.webhookLagSeconds.set(webhooks.lagSeconds);
      this.metrics.webhookOutboxPosition.set(webhooks.position);
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
