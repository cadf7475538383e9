/**
 * Delivery to back-office systems. The log is the outbox: every event of a case (its acts, its warnings and breaches)
 * becomes one delivery per matching subscription, written together with the position it was read up to (one read-store
 * batch), so a crash neither loses nor doubles a delivery. Deliveries are sent at least once, signed per Standard
 * Webhooks, one at a time per subscription and case in log order; a failure is retried with exponential backoff
 * and dead-lettered after the last attempt, after which the case's later deliveries go on (a dead letter is sent again
 * only on request). Subscriptions and requests (redeliver, replay) come from the admin API through the read store, so
 * API instances and the process that dispatches need share nothing else.
 */
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import type { EventLog, RecordedEvent } from '../../event-log/event-log.port';
import type { ReadDocument, ReadStore, WriteOp } from '../../read-store/read-store.port';
import { CASE_STREAM_PREFIX, caseStreamId } from '../../cases/domain/case-event';
import { DEADLINES_STREAM_PREFIX } from '../domain/deadline-events';
import { checkTarget, deliveryLookup, INTERNAL_TARGET } from './target-policy';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { StepLoop } from '../step-loop';
import { withoutClearPersonalData } from '../../personal-data/domain/personal-fields';
import { metadataWithoutClearCitizen } from '../../personal-data/domain/citizen-ids';

export const SUBSCRIPTIONS = 'webhooks.subscriptions';
export const DELIVERIES = 'webhooks.deliveries';
export const REQUESTS = 'webhooks.requests';
export const OUTBOX_CHECKPOINT = 'webhook-outbox';
const FOLLOWED = { streamPrefixes: [CASE_STREAM_PREFIX, DEADLINES_STREAM_PREFIX] };

export interface WebhookSubscription extends ReadDocument {
  url: string;
  /** Null: every type. */
  eventTypes: string[] | null;
  /** Null: every unit. */
  units: string[] | null;
  secret: string;
  active: boolean;
  createdAt: string;
  createdBy: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'cancelled';

export interface Delivery extends ReadDocument {
  subscriptionId: string;
  /** The event's id: the `webhook-id` a receiver de-duplicates by. */
  eventId: string;
  streamId: string;
  revision: number;
  position: number;
  caseId: string;
  type: string;
  /** Deliveries with the same key are sent one at a time, in position order. */
  orderKey: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  createdAt: string;
  lastAttemptAt?: string;
  lastStatus?: number | null;
  lastError?: string | null;
  deliveredAt?: string;
}

export type DeliveryRequest = ReadDocument &
  ({ kind: 'redeliver'; deliveryId: string } | { kind: 'replay'; subscriptionId: string; after: number });

export interface WebhookSettings {
  allowPrivate: boolean;
  timeoutMs: number;
  maxAttempts: number;
  /** The first retry's delay; each next one doubles, up to an hour. */
  backoffMs: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  allowPrivate: false,
  timeoutMs: 10_000,
  maxAttempts: 8,
  backoffMs: 1_000,
};
const MOST_BACKOFF_MS = 3_600_000;

export interface DispatcherStats {
  pending: number;
  delivered: number;
  dead: number;
  /** Seconds the oldest pending delivery has waited since it was made. */
  lagSeconds: number;
  position: number;
}

export class WebhookDispatcher {
  private readonly clock: () => Date;
  private readonly wallClock: () => Date;
  private readonly settings: WebhookSettings;
  private readonly units = new Map<string, string>();
  private indexed: Promise<void> | null = null;

  private readonly loop: StepLoop;

  constructor(
    private readonly options: {
      log: EventLog;
      store: ReadStore;
      settings?: Partial<WebhookSettings>;
      clock?: () => Date;
      /** The wall clock a signature's timestamp is read from (receivers compare it with theirs); the real one when absent. */
      wallClock?: () => Date;
      logger?: Logger;
      batchSize?: number;
      pollMs?: number;
      /** Whether this dispatcher may work now (a lease shared with the others); always, when absent. */
      lease?: () => boolean;
    },
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.wallClock = options.wallClock ?? (() => new Date());
    this.settings = { ...DEFAULT_WEBHOOK_SETTINGS, ...options.settings };
    this.loop = new StepLoop(
      'the webhook dispatcher',
      () => this.tick(),
      () => this.options.pollMs ?? 250,
      options.logger,
    );
  }

  /** Turns the events after the outbox's position into deliveries, and carries out the admins' requests. */
  async outbox(): Promise<number> {
    // The queries of the dispatch loop, the admin API and the history, on stores that index (MongoDB).
    this.indexed ??= this.options.store.ensureIndexes(DELIVERIES, [
      { key: { status: 1, position: 1 } },
      { key: { eventId: 1 } },
      { key: { subscriptionId: 1, position: -1 } },
    ]);
    await this.indexed;
    await this.handleRequests();
    let made = 0;
    for (;;) {
      const after = (await this.options.store.getCheckpoint(OUTBOX_CHECKPOINT))?.position ?? 0;
      const events = await this.options.log.readAll({
        after,
        maxCount: this.options.batchSize ?? 500,
        filter: FOLLOWED,
      });
      if (events.length === 0) return made;
      const subscriptions = await this.activeSubscriptions();
      const ops: WriteOp[] = [];
      for (const event of events) {
        for (const subscription of subscriptions) {
          if (!(await this.matches(subscription, event))) continue;
          ops.push({ op: 'upsert', collection: DELIVERIES, doc: this.deliveryOf(subscription, event) });
        }
      }
      await this.options.store.write({
        ops,
        checkpoint: { projection: OUTBOX_CHECKPOINT, position: events[events.length - 1]!.position },
      });
      made += ops.length;
    }
  }

  /** Sends every delivery due now that is first in line for its subscription and case; answers how many were tried. */
  async dispatch(): Promise<number> {
    const deliveries = this.options.store.collection<Delivery>(DELIVERIES);
    const pending = await deliveries.find({ status: 'pending' }, { sort: { position: 1 }, limit: 10_000 });
    const heads = new Map<string, Delivery>();
    for (const d of pending) if (!heads.has(d.orderKey)) heads.set(d.orderKey, d);
    const now = this.clock().getTime();
    const due = [...heads.values()].filter((d) => d.nextAttemptAt <= now);
    if (due.length === 0) return 0;
    const subscriptions = new Map(
      (await this.options.store.collection<WebhookSubscription>(SUBSCRIPTIONS).find({})).map((s) => [s._id, s]),
    );
    // Different cases in parallel, a few at a time; one case's deliveries never overtake each other.
    const queue = [...due];
    const outcomes: Delivery[] = [];
    const worker = async () => {
      for (let d = queue.shift(); d; d = queue.shift())
        outcomes.push(await this.attempt(d, subscriptions.get(d.subscriptionId)));
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    // One write for the round: a crash before it sends these again (at least once), never loses one.
    await this.options.store.write({
      ops: outcomes.map((doc) => ({ op: 'upsert' as const, collection: DELIVERIES, doc })),
    });
    return due.length;
  }

  async tick(): Promise<{ made: number; tried: number }> {
    // Two dispatchers would each send every delivery: one works, the others wait for its lease to lapse.
    if (this.options.lease && !this.options.lease()) return { made: 0, tried: 0 };
    const made = await this.outbox();
    let tried = 0;
    // Once a case's delivery succeeds its next one is first in line: keep going while that happens now.
    for (let sent = await this.dispatch(); sent > 0; sent = await this.dispatch()) tried += sent;
    return { made, tried };
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  async stats(): Promise<DispatcherStats> {
    return webhookStats(this.options.store, this.clock());
  }

  /** Sends one delivery; answers it as it stands after the attempt (the caller stores it). */
  private async attempt(delivery: Delivery, subscription: WebhookSubscription | undefined): Promise<Delivery> {
    const now = this.clock();
    if (!subscription?.active) return { ...delivery, status: 'cancelled', lastError: 'the subscription was deleted' };
    const [event] = await this.options.log.readStream(delivery.streamId, {
      fromRevision: delivery.revision,
      maxCount: 1,
    });
    let status: number | null = null;
    let error: string | null = null;
    if (!event) error = `event ${delivery.streamId}@${delivery.revision} is not in the log`;
    else {
      const refused = await checkTarget(subscription.url, this.settings.allowPrivate);
      if (refused) error = `target refused: ${refused.problem}`;
      else {
        try {
          status = await this.send(subscription, event, delivery);
          if (status < 200 || status > 299) error = `the receiver answered ${status}`;
        } catch (e) {
          error =
            e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')
              ? `no answer within ${this.settings.timeoutMs} ms`
              : (e as { code?: string }).code === INTERNAL_TARGET
                ? `target refused: ${(e as Error).message}`
                : `could not send: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`;
        }
      }
    }
    const attempts = delivery.attempts + 1;
    if (error === null)
      return {
        ...delivery,
        status: 'delivered',
        attempts,
        lastAttemptAt: now.toISOString(),
        lastStatus: status,
        lastError: null,
        deliveredAt: now.toISOString(),
      };
    const dead = attempts >= this.settings.maxAttempts;
    const backoff = Math.min(MOST_BACKOFF_MS, this.settings.backoffMs * 2 ** (attempts - 1));
    this.options.logger?.warn(
      { deliveryId: delivery._id, subscriptionId: subscription._id, url: subscription.url, attempts, error, dead },
      dead ? 'webhook delivery dead-lettered' : 'webhook delivery failed; it is retried',
    );
    return {
      ...delivery,
      status: dead ? 'dead' : 'pending',
      attempts,
      nextAttemptAt: now.getTime() + backoff,
      lastAttemptAt: now.toISOString(),
      lastStatus: status,
      lastError: error,
    };
  }

  private async send(subscription: WebhookSubscription, event: RecordedEvent, delivery: Delivery): Promise<number> {
    const body = JSON.stringify(webhookPayload(event, delivery.caseId));
    // The signature's timestamp is when it is sent, by the wall clock: receivers refuse one more than minutes old. It is
    // read once: the header must carry the very second that was signed (two reads once straddled a second, and the
    // receiver refused the signature).
    const sentAt = this.wallClock();
    const signature = new Webhook(subscription.secret).sign(event.id, sentAt, body);
    const timestamp = String(Math.floor(sentAt.getTime() / 1000));
    return postDelivery(
      subscription.url,
      {
        'content-type': 'application/json',
        'webhook-id': event.id,
        'webhook-timestamp': timestamp,
        'webhook-signature': signature,
        'user-agent': 'reglament-webhooks',
      },
      body,
      deliveryLookup(this.settings.allowPrivate),
      this.settings.timeoutMs,
    );
  }

  private async activeSubscriptions(): Promise<WebhookSubscription[]> {
    return this.options.store.collection<WebhookSubscription>(SUBSCRIPTIONS).find({ active: true });
  }

  private async matches(subscription: WebhookSubscription, event: RecordedEvent): Promise<boolean> {
    if (subscription.eventTypes && !subscription.eventTypes.includes(event.type)) return false;
    if (!subscription.units) return true;
    const unit = await this.unitOf(event);
    return unit !== null && subscription.units.includes(unit);
  }

  /** The case's unit: on its filing, on each warning or breach, else read once from the filing. */
  private async unitOf(event: RecordedEvent): Promise<string | null> {
    const caseId = caseIdOf(event);
    const stated =
      event.type === 'ApplicationSubmitted'
        ? (event.data as { unit?: unknown }).unit
        : (event.metadata as { unit?: unknown }).unit;
    if (typeof stated === 'string' && event.streamId.startsWith(DEADLINES_STREAM_PREFIX)) return stated;
    if (event.type === 'ApplicationSubmitted' && typeof stated === 'string') {
      this.units.set(caseId, stated);
      return stated;
    }
    const known = this.units.get(caseId);
    if (known) return known;
    const [first] = await this.options.log.readStream(caseStreamId(caseId), { maxCount: 1 });
    const unit = first ? (first.data as { unit?: unknown }).unit : null;
    if (typeof unit !== 'string') return null;
    if (this.units.size > 100_000) this.units.clear();
    this.units.set(caseId, unit);
    return unit;
  }

  private deliveryOf(subscription: WebhookSubscription, event: RecordedEvent): Delivery {
    const caseId = caseIdOf(event);
    return {
      _id: `${subscription._id}:${event.id}`,
      subscriptionId: subscription._id,
      eventId: event.id,
      streamId: event.streamId,
      revision: event.revision,
      position: event.position,
      caseId,
      type: event.type,
      orderKey: `${subscription._id}:${caseId}`,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: 0,
      createdAt: this.clock().toISOString(),
    };
  }

  private async handleRequests(): Promise<void> {
    const requests = await this.options.store.collection<DeliveryRequest>(REQUESTS).find({});
    for (const request of requests) {
      const ops: WriteOp[] = [{ op: 'delete', collection: REQUESTS, id: request._id }];
      if (request.kind === 'redeliver') {
        const delivery = await this.options.store.collection<Delivery>(DELIVERIES).get(request.deliveryId);
        if (delivery)
          ops.push({
            op: 'upsert',
            collection: DELIVERIES,
            doc: { ...delivery, status: 'pending', attempts: 0, nextAttemptAt: 0 },
          });
      } else {
        await this.replay(request.subscriptionId, request.after);
      }
      await this.options.store.write({ ops });
    }
  }

  /** Every matching event after `after`, up to what the outbox has read, is delivered again (the same webhook-id). */
  private async replay(subscriptionId: string, after: number): Promise<void> {
    const subscription = await this.options.store.collection<WebhookSubscription>(SUBSCRIPTIONS).get(subscriptionId);
    if (!subscription?.active) return;
    const upTo = (await this.options.store.getCheckpoint(OUTBOX_CHECKPOINT))?.position ?? 0;
    for (let from = after; from < upTo;) {
      const events = (await this.options.log.readAll({ after: from, maxCount: 500, filter: FOLLOWED })).filter(
        (e) => e.position <= upTo,
      );
      if (events.length === 0) return;
      const ops: WriteOp[] = [];
      for (const event of events)
        if (await this.matches(subscription, event))
          ops.push({ op: 'upsert', collection: DELIVERIES, doc: this.deliveryOf(subscription, event) });
      await this.options.store.write({ ops });
      from = events[events.length - 1]!.position;
    }
  }
}

/** The body a receiver gets: Standard Webhooks' `type`, `timestamp` and `data` (the event with its provenance). */
export function webhookPayload(event: RecordedEvent, caseId: string) {
  return {
    type: event.type,
    timestamp: event.recordedAt.toISOString(),
    data: {
      eventId: event.id,
      caseId,
      streamId: event.streamId,
      revision: event.revision,
      position: event.position,
      data: withoutClearPersonalData(event.type, event.data as Record<string, unknown>),
      metadata: metadataWithoutClearCitizen(event.metadata),
    },
  };
}

/** Whom each event was told: its deliveries per subscription, with their state, for auditors. */
export async function deliveriesOfEvents(
  store: ReadStore,
  eventIds: readonly string[],
): Promise<
  Map<
    string,
    Array<{
      subscriptionId: string;
      url: string | null;
      status: DeliveryStatus;
      attempts: number;
      deliveredAt: string | null;
      lastError: string | null;
    }>
  >
> {
  const told = new Map<
    string,
    Array<{
      subscriptionId: string;
      url: string | null;
      status: DeliveryStatus;
      attempts: number;
      deliveredAt: string | null;
      lastError: string | null;
    }>
  >();
  if (eventIds.length === 0) return told;
  const deliveries = await store
    .collection<Delivery>(DELIVERIES)
    .find({ eventId: { $in: [...eventIds] } }, { sort: { position: 1 } });
  if (deliveries.length === 0) return told;
  const urls = new Map(
    (await store.collection<WebhookSubscription>(SUBSCRIPTIONS).find({})).map((s) => [s._id, s.url]),
  );
  for (const d of deliveries) {
    const list = told.get(d.eventId) ?? [];
    list.push({
      subscriptionId: d.subscriptionId,
      url: urls.get(d.subscriptionId) ?? null,
      status: d.status,
      attempts: d.attempts,
      deliveredAt: d.deliveredAt ?? null,
      lastError: d.lastError ?? null,
    });
    told.set(d.eventId, list);
  }
  return told;
}

export async function webhookStats(store: ReadStore, now: Date): Promise<DispatcherStats> {
  const deliveries = store.collection<Delivery>(DELIVERIES);
  const [pending, delivered, dead, oldest, checkpoint] = await Promise.all([
    deliveries.count({ status: 'pending' }),
    deliveries.count({ status: 'delivered' }),
    deliveries.count({ status: 'dead' }),
    deliveries.find({ status: 'pending' }, { sort: { createdAt: 1 }, limit: 1 }),
    store.getCheckpoint(OUTBOX_CHECKPOINT),
  ]);
  const lag = oldest[0] ? Math.max(0, (now.getTime() - Date.parse(oldest[0].createdAt)) / 1000) : 0;
  return { pending, delivered, dead, lagSeconds: lag, position: checkpoint?.position ?? 0 };
}

function caseIdOf(event: RecordedEvent): string {
  return event.streamId.startsWith(DEADLINES_STREAM_PREFIX)
    ? event.streamId.slice(DEADLINES_STREAM_PREFIX.length)
    : event.streamId.slice(CASE_STREAM_PREFIX.length);
}

/**
 * One POST of a delivery, through node:http(s) rather than fetch so that its connection resolves the host with `lookup`
 * (deliveryLookup: the address actually connected to is the one checked). Redirects are not followed; the answer's
 * body is read and dropped; the status is the outcome.
 */
export function postDelivery(
  url: string,
  headers: Record<string, string>,
  body: string,
  lookup: ReturnType<typeof deliveryLookup>,
  timeoutMs: number,
): Promise<number> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup,
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        // The status is the outcome once it has come: a body cut short or slow to drain after it changes nothing (a 2xx
        // taken for a failure would be delivered twice).
        const status = response.statusCode ?? 0;
        response.on('error', () => resolve(status));
        response.on('close', () => resolve(status));
        response.resume();
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
