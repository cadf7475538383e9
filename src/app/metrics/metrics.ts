import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppendResult, EventLog, EventToAppend, ExpectedRevision } from '../../modules/event-log/event-log.port';

/**
 * prom-client's default gauges that end in `_total`, a counter's suffix: each is the sum of its by-type gauge
 * (`nodejs_active_handles` etc.), which `sum()` gives in PromQL, so dropping them loses nothing.
 */
const DEFAULT_GAUGES_NAMED_LIKE_COUNTERS = [
  'nodejs_active_resources_total',
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
];

/**
 * One registry per process, so tests can run several apps side by side. The default process and Node.js metrics
 * keep their standard names (`process_*`, `nodejs_*`), so stock dashboards read them; ours start `reglament_`.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Only where this process appends to the log (the API): a worker's would be a histogram always empty. */
  readonly append: { seconds: Histogram<'outcome'>; events: Counter } | null;
  readonly httpSeconds = new Histogram({
    name: 'reglament_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly projectionLagEvents = new Gauge({
    name: 'reglament_projection_lag_events',
    help: 'Events a projection (its read model) is behind the log head',
    labelNames: ['projection'] as const,
    registers: [this.registry],
  });
  readonly projectionLagSeconds = new Gauge({
    name: 'reglament_projection_lag_seconds',
    help: 'Age of the oldest event a projection has not applied',
    labelNames: ['projection'] as const,
    registers: [this.registry],
  });
  readonly projectionPosition = new Gauge({
    name: 'reglament_projection_checkpoint_position',
    help: 'Last global position a projection applied',
    labelNames: ['projection'] as const,
    registers: [this.registry],
  });
  readonly overdueSteps = new Gauge({
    name: 'reglament_overdue_steps',
    help: 'Open steps past a deadline, by regulation (service), from the compliance read model',
    labelNames: ['regulation'] as const,
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Gauge({
    name: 'reglament_webhook_deliveries',
    help: 'Webhook deliveries by state (pending, delivered, dead)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly webhookLagSeconds = new Gauge({
    name: 'reglament_webhook_lag_seconds',
    help: 'How long the oldest pending webhook delivery has waited since it was made',
    registers: [this.registry],
  });
  readonly webhookOutboxPosition = new Gauge({
    name: 'reglament_webhook_outbox_position',
    help: 'Last log position turned into webhook deliveries',
    registers: [this.registry],
  });
  readonly deadlineOpenCases = new Gauge({
    name: 'reglament_deadline_open_cases',
    help: 'Cases with a deadline warning or breach still to come',
    registers: [this.registry],
  });
  readonly deadlineDueCases = new Gauge({
    name: 'reglament_deadline_due_cases',
    help: 'Cases with a warning or breach due now and not yet recorded',
    registers: [this.registry],
  });
  readonly deadlineLagSeconds = new Gauge({
    name: 'reglament_deadline_lag_seconds',
    help: 'How long the earliest due deadline instant has waited to be recorded',
    registers: [this.registry],
  });
  readonly logHead = new Gauge({
    name: 'reglament_event_log_head_position',
    help: 'Global position of the last event in the log',
    registers: [this.registry],
  });

  constructor(options: { appends: boolean } = { appends: true }) {
    this.append = options.appends
      ? {
          seconds: new Histogram({
            name: 'reglament_event_append_seconds',
            help: 'Durable append latency (acknowledged after fsync), by outcome',
            labelNames: ['outcome'] as const,
            buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
            registers: [this.registry],
          }),
          events: new Counter({
            name: 'reglament_events_appended_total',
            help: 'Events appended',
            registers: [this.registry],
          }),
        }
      : null;
    collectDefaultMetrics({ register: this.registry });
    for (const name of DEFAULT_GAUGES_NAMED_LIKE_COUNTERS) this.registry.removeSingleMetric(name);
  }
}

/** Decorates an EventLog so every append is timed; the adapter stays unaware of metrics. */
export function instrumentEventLog(log: EventLog, metrics: Metrics): EventLog {
  const append = metrics.append;
  if (!append) return log;
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'append') {
        return async (
          streamId: string,
          events: readonly EventToAppend[],
          expected: ExpectedRevision,
        ): Promise<AppendResult> => {
          const end = append.seconds.startTimer();
          try {
            const result = await target.append(streamId, events, expected);
            end({ outcome: 'ok' });
            append.events.inc(events.length);
            return result;
          } catch (error) {
            end({ outcome: (error as Error).name === 'WrongExpectedRevisionError' ? 'conflict' : 'error' });
            throw error;
          }
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
