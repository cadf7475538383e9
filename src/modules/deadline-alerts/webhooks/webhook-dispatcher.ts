/**
 * Delivery to back-office systems. The log is the outbox: every event of a case (its acts, its warnings and breaches)
 * becomes one delivery per matching subscription, written together with the position it was read up to (one read-store
 * batch), so a crash neither loses nor doubles a delivery. Deliveries are sent at least once, signed per Standard
 * Webhooks, one at a time per subscription and case in log order; a failure is retried with exponential backoff
 * and dead-lettered after the last attempt, after which the case's later deliveries go on (a dead letter is sent again
 * only on request). Receivers are outside our control: each subscription gets a few sends in flight and a turn, so one
 * that is slow or never answers delays only its own deliveries. Subscriptions and requests (redeliver, replay) come
 * from the admin API through the read store, so API instances and the process that dispatches need share nothing else.
 */
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import type { EventLog, RecordedEvent } from '../../event-log/event-log.port';
import type { IndexSpec, ReadDocument, ReadStore, WriteOp } from '../../read-store/read-store.port';
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
  /** The first retry's delay; each next one doubles, up to an hour; each is made up to a quarter longer at random. */
  backoffMs: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  allowPrivate: false,
  timeoutMs: 10_000,
  maxAttempts: 8,
  backoffMs: 1_000,
};
const MOST_BACKOFF_MS = 3_600_000;
/**
 * The queries of the dispatch loop, the admin API and the history (MongoDB creates them; the embedded store keeps them
 * in memory once a collection names them: the dispatch loop's own reads would otherwise each scan every delivery).
 */
const DELIVERY_INDEXES: readonly IndexSpec[] = [
  { key: { status: 1, position: 1 } },
  { key: { eventId: 1 } },
  { key: { subscriptionId: 1, position: -1 } },
  { key: { status: 1, subscriptionId: 1, position: 1 } },
  { key: { status: 1, orderKey: 1, position: 1 } },
];
/** Sends in flight at once, in all and per subscription. */
const MOST_IN_FLIGHT = 32;
const MOST_IN_FLIGHT_PER_SUBSCRIPTION = 4;
/** Pending deliveries read per subscription to find its cases' next ones. */
const PENDING_READ_PER_SUBSCRIPTION = 10_000;
/** How often a long run of sends renews the lease (which lapses after 30 s). */
const LEASE_RENEW_MS = 5_000;
/** The most of an answer's body read (only so that its connection can carry the next delivery). */
const MOST_ANSWER_BODY = 64 * 1024;

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
  private stopping = false;

  // The state of a tick's sends (ticks never overlap: the loop awaits each, and so do the tests).
  /** Sends in flight, by order key: at most one per subscription and case. */
  private readonly inFlight = new Map<string, { deliveryId: string; subscriptionId: string; done: Promise<void> }>();
  /** Sends not answered yet, per subscription. */
  private readonly inFlightPerSubscription = new Map<string, number>();
  /** Per subscription, its cases' next deliveries found due and not yet sent, oldest first. */
  private due = new Map<string, Delivery[]>();
  /**
   * Per case, its pending deliveries in log order as last read, for the subscriptions whose pending ones were read
   * whole: a case's next one is taken from here rather than read again after each send.
   */
  private later = new Map<string, Delivery[]>();
  private readWhole = new Set<string>();
  /** Whether `due` may lack what the store has due now: new deliveries, a request carried out. */
  private stale = true;
  /** When a delivery read but not yet due becomes due (then `due` is read again). */
  private nextDueAt = Infinity;
  /** Subscriptions whose replay waits for their sends in flight to end; none of theirs starts meanwhile. */
  private readonly heldBack = new Set<string>();
  private subscriptions = new Map<string, WebhookSubscription>();
  private turn = 0;
  private tried = 0;
  private failure: unknown = null;
  private wake: (() => void) | null = null;
  /** Results waiting for the write under way; they go together in the next one. */
  private unrecorded: Array<{ doc: Delivery; resolve: () => void; reject: (error: unknown) => void }> = [];
  private recorder: Promise<void> | null = null;

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
    this.indexed ??= this.options.store.ensureIndexes(DELIVERIES, DELIVERY_INDEXES);
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
      if (ops.length > 0) this.stale = true;
    }
  }

  /**
   * Turns new events into deliveries, then sends what is due until nothing is due or in flight; answers how many
   * deliveries were made and how many were tried. Each result is stored as soon as it comes, so a crash sends again
   * only what had no answer yet; while sends are in flight, every pollMs, the outbox takes the new events and the
   * admins' requests are carried out.
   */
  async tick(): Promise<{ made: number; tried: number }> {
    // Two dispatchers would each send every delivery: one works, the others wait for its lease to lapse.
    if (!this.holdsLease()) return { made: 0, tried: 0 };
    let made = await this.outbox();
    const pollMs = this.options.pollMs ?? 250;
    this.tried = 0;
    this.failure = null;
    this.stale = true;
    let choresAt = Date.now();
    let leaseAt = Date.now();
    try {
      while (!this.stopping && this.failure === null) {
        // A tick lasts while anything is in flight, which under steady traffic may be for good.
        if (Date.now() - leaseAt >= LEASE_RENEW_MS) {
          if (!this.holdsLease()) break;
          leaseAt = Date.now();
        }
        if (this.stale || this.clock().getTime() >= this.nextDueAt) await this.findDue();
        this.startDue();
        if (this.inFlight.size === 0 && !this.stale && this.heldBack.size === 0) break;
        if (this.inFlight.size > 0) await this.settledOrAfter(pollMs - (Date.now() - choresAt));
        if (this.inFlight.size === 0 || Date.now() - choresAt >= pollMs) {
          made += await this.outbox();
          choresAt = Date.now();
        }
      }
    } finally {
      // Stopping, or the lease lost: what is in flight ends within the timeout and its result is stored.
      await Promise.all([...this.inFlight.values()].map((f) => f.done));
      this.due = new Map();
      this.heldBack.clear();
    }
    if (this.failure !== null) throw this.failure;
    return { made, tried: this.tried };
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    try {
      await this.loop.stop();
    } finally {
      this.stopping = false;
    }
  }

  private deliveries() {
    return this.options.store.collection<Delivery>(DELIVERIES, { indexes: DELIVERY_INDEXES });
  }

  private holdsLease(): boolean {
    return !this.options.lease || this.options.lease();
  }

  /**
   * Reads each subscription's pending deliveries, oldest first, and keeps each case's first one when it is due and not
   * in flight. Per subscription: one with a long backlog does not hide the others' (a single read of the oldest
   * pending of all once did).
   */
  private async findDue(): Promise<void> {
    // Filled as each subscription is read: a send that ends meanwhile queues its case's next one into the same.
    this.due = new Map();
    this.later = new Map();
    this.readWhole = new Set();
    this.nextDueAt = Infinity;
    this.stale = false;
    this.subscriptions = await this.allSubscriptions();
    const now = this.clock().getTime();
    for (const subscriptionId of this.subscriptions.keys()) {
      const pending = await this.deliveries().find(
        { status: 'pending', subscriptionId },
        { sort: { position: 1 }, limit: PENDING_READ_PER_SUBSCRIPTION },
      );
      if (pending.length < PENDING_READ_PER_SUBSCRIPTION) this.readWhole.add(subscriptionId);
      for (const d of pending) {
        const ofCase = this.later.get(d.orderKey);
        if (ofCase) {
          ofCase.push(d);
          continue;
        }
        this.later.set(d.orderKey, [d]);
        if (this.inFlight.has(d.orderKey)) continue;
        if (d.nextAttemptAt <= now) this.queue(d);
        else this.nextDueAt = Math.min(this.nextDueAt, d.nextAttemptAt);
      }
    }
  }

  /** Starts due sends, the subscriptions taking turns (one each per pass, from another first one each time). */
  private startDue(): void {
    const ids = [...this.due.keys()];
    for (let progress = true; progress;) {
      progress = false;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[(this.turn + i) % ids.length]!;
        const queue = this.due.get(id)!;
        const busy = this.inFlightPerSubscription.get(id) ?? 0;
        if (queue.length === 0 || this.heldBack.has(id) || busy >= MOST_IN_FLIGHT_PER_SUBSCRIPTION) continue;
        // A subscription with nothing in flight may always send one: as many broken receivers as there are slots
        // would otherwise hold up every other one again.
        if (busy > 0 && this.inFlight.size >= MOST_IN_FLIGHT) continue;
        const delivery = queue.shift()!;
        if (!this.inFlight.has(delivery.orderKey)) this.startSending(delivery);
        progress = true;
      }
    }
    this.turn++;
    for (const [id, queue] of this.due) if (queue.length === 0) this.due.delete(id);
  }

  /**
   * Sends one delivery in the background. Its receiver's slot is free once it has answered; its case stays in flight
   * until the result is stored.
   */
  private startSending(delivery: Delivery): void {
    const { subscriptionId, orderKey } = delivery;
    this.inFlightPerSubscription.set(subscriptionId, (this.inFlightPerSubscription.get(subscriptionId) ?? 0) + 1);
    let answered = false;
    const freeSlot = () => {
      if (answered) return;
      answered = true;
      const busy = (this.inFlightPerSubscription.get(subscriptionId) ?? 1) - 1;
      if (busy > 0) this.inFlightPerSubscription.set(subscriptionId, busy);
      else this.inFlightPerSubscription.delete(subscriptionId);
      this.wake?.();
    };
    const flight = { deliveryId: delivery._id, subscriptionId, done: Promise.resolve() };
    this.inFlight.set(orderKey, flight);
    flight.done = (async () => {
      try {
        // What was read may have changed since: sent and stored (read twice), redelivered, replayed.
        const current = await this.deliveries().get(delivery._id);
        if (current?.status !== 'pending' || current.nextAttemptAt > this.clock().getTime()) return;
        this.tried++;
        const outcome = await this.attempt(current, this.subscriptions.get(subscriptionId));
        freeSlot();
        await this.record(outcome);
        if (outcome.status === 'pending') this.nextDueAt = Math.min(this.nextDueAt, outcome.nextAttemptAt);
        else await this.queueNextOf(outcome);
      } catch (error) {
        this.failure ??= error;
      } finally {
        this.inFlight.delete(orderKey);
        freeSlot();
        this.wake?.();
      }
    })();
  }

  /** Once a case's delivery is done with, its next one is first in line, and due unless it failed before. */
  private async queueNextOf(done: Delivery): Promise<void> {
    let next: Delivery | undefined;
    if (this.readWhole.has(done.subscriptionId)) {
      const ofCase = this.later.get(done.orderKey) ?? [];
      while (ofCase.length > 0 && ofCase[0]!.position <= done.position) ofCase.shift();
      next = ofCase[0];
    } else {
      const query = { status: 'pending', orderKey: done.orderKey };
      [next] = await this.deliveries().find(query, { sort: { position: 1 }, limit: 1 });
    }
    if (!next) return;
    if (next.nextAttemptAt <= this.clock().getTime()) this.queue(next);
    else this.nextDueAt = Math.min(this.nextDueAt, next.nextAttemptAt);
  }

  private queue(delivery: Delivery): void {
    const queue = this.due.get(delivery.subscriptionId);
    if (queue) queue.push(delivery);
    else this.due.set(delivery.subscriptionId, [delivery]);
  }

  /** Stores a send's result; results that come while a write is under way go together in the next one. */
  private record(doc: Delivery): Promise<void> {
    return new Promise((resolve, reject) => {
      this.unrecorded.push({ doc, resolve, reject });
      this.recorder ??= (async () => {
        while (this.unrecorded.length > 0) {
          const batch = this.unrecorded.splice(0);
          try {
            await this.options.store.write({
              ops: batch.map(({ doc }) => ({ op: 'upsert' as const, collection: DELIVERIES, doc })),
              behind: true,
            });
            for (const r of batch) r.resolve();
          } catch (error) {
            for (const r of batch) r.reject(error);
          }
        }
        this.recorder = null;
      })();
    });
  }

  private async settledOrAfter(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = null;
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
    // Up to a quarter more, at random: the deliveries a receiver failed together are not all retried in one burst.
    const backoff = Math.min(MOST_BACKOFF_MS, this.settings.backoffMs * 2 ** (attempts - 1)) * (1 + Math.random() / 4);
    this.options.logger?.warn(
      { deliveryId: delivery._id, subscriptionId: subscription._id, url: subscription.url, attempts, error, dead },
      dead ? 'webhook delivery dead-lettered' : 'webhook delivery failed; it is retried',
    );
    return {
      ...delivery,
      status: dead ? 'dead' : 'pending',
      attempts,
      nextAttemptAt: now.getTime() + Math.round(backoff),
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

  /** Deleted ones too: their pending deliveries are cancelled when their turn comes. */
  private async allSubscriptions(): Promise<Map<string, WebhookSubscription>> {
    const subscriptions = await this.options.store.collection<WebhookSubscription>(SUBSCRIPTIONS).find({});
    return new Map(subscriptions.map((s) => [s._id, s]));
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

  /**
   * A request about a delivery in flight waits for its result (stored after the request, the result would undo it):
   * a redelivery until that send ends, a replay until the subscription's sends end (none of its others starts
   * meanwhile).
   */
  private async handleRequests(): Promise<void> {
    const requests = await this.options.store.collection<DeliveryRequest>(REQUESTS).find({});
    this.heldBack.clear();
    for (const request of requests) {
      if (request.kind === 'redeliver' && [...this.inFlight.values()].some((f) => f.deliveryId === request.deliveryId))
        continue;
      if (
        request.kind === 'replay' &&
        [...this.inFlight.values()].some((f) => f.subscriptionId === request.subscriptionId)
      ) {
        this.heldBack.add(request.subscriptionId);
        continue;
      }
      this.stale = true;
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
 * (deliveryLookup: the address actually connected to is the one checked). Redirects are not followed; the status is
 * the outcome, answered as soon as it comes.
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
        // The status line decides: a 2xx that came within the timeout is delivered whatever its body does after.
        // Waiting for the body, one that trickled or never ended was taken for no answer, sent again and dead-lettered.
        resolve(response.statusCode ?? 0);
        // The body is read and dropped only so that the connection may carry the next delivery: past a few kilobytes
        // the connection is closed, and the timeout closes one whose body is slower than that.
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MOST_ANSWER_BODY) request.destroy();
        });
        response.on('error', () => {});
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
