/**
 * Webhook subscriptions and deliveries, for admins. Subscriptions, and the requests to redeliver or replay, are
 * written to the read store, where the dispatching process reads them; this process sends nothing itself.
 */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { randomBytes } from 'node:crypto';
import { newId } from '../../../shared/ids/new-id';
import { ProblemError } from '../../../shared/problem/problem';
import { NoQueryDto } from '../../../shared/problem/validation';
import type { ReadStore } from '../../read-store/read-store.port';
import type { Principal } from '../../identity/domain/principal';
import { CurrentPrincipal, RequireRoles, Writes } from '../../identity/http/identity.decorators';
import { checkTarget } from '../webhooks/target-policy';
import {
  DELIVERIES,
  REQUESTS,
  SUBSCRIPTIONS,
  webhookStats,
  type Delivery,
  type DeliveryRequest,
  type WebhookSubscription,
} from '../webhooks/webhook-dispatcher';
import { CreateSubscriptionDto, DeliveriesQuery, ReplayDto, WebhookIdPathDto } from './deadline-alerts.dtos';
import {
  CreatedWebhookSubscriptionDto,
  WebhookDeliveriesDto,
  WebhookRedeliveryAcceptedDto,
  WebhookReplayAcceptedDto,
  WebhookStatsDto,
  WebhookSubscriptionListDto,
} from './deadline-alerts-responses';

export const WEBHOOK_STORE = Symbol('WEBHOOK_STORE');
export const WEBHOOK_ALLOW_PRIVATE = Symbol('WEBHOOK_ALLOW_PRIVATE');

function shown(subscription: WebhookSubscription) {
  const { secret: _secret, ...rest } = subscription;
  return {
    id: rest._id,
    url: rest.url,
    eventTypes: rest.eventTypes,
    units: rest.units,
    active: rest.active,
    createdAt: rest.createdAt,
    createdBy: rest.createdBy,
  };
}

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('api/webhooks')
export class WebhooksController {
  constructor(
    @Inject(WEBHOOK_STORE) private readonly store: ReadStore,
    @Inject(WEBHOOK_ALLOW_PRIVATE) private readonly allowPrivate: boolean,
  ) {}

  @Post('subscriptions')
  @ApiCreatedResponse({
    type: CreatedWebhookSubscriptionDto,
    description: 'The subscription, with its secret shown once',
  })
  @RequireRoles('admin')
  @Writes()
  async create(@CurrentPrincipal() principal: Principal, @Body() body: CreateSubscriptionDto) {
    const refused = await checkTarget(body.url, this.allowPrivate);
    if (refused) throw ProblemError.badRequest([{ field: 'url', ...refused }]);
    const subscription: WebhookSubscription = {
      _id: newId(),
      url: body.url,
      eventTypes: body.eventTypes && body.eventTypes.length > 0 ? [...new Set(body.eventTypes)] : null,
      units: body.units && body.units.length > 0 ? [...new Set(body.units)] : null,
      secret: body.secret ?? `whsec_${randomBytes(32).toString('base64')}`,
      active: true,
      createdAt: new Date().toISOString(),
      createdBy: principal.id,
    };
    await this.store.write({ ops: [{ op: 'upsert', collection: SUBSCRIPTIONS, doc: subscription }] });
    // The secret is shown this once: receivers verify with it; it is never listed.
    return { ...shown(subscription), secret: subscription.secret };
  }

  @Get('subscriptions')
  @ApiOkResponse({ type: WebhookSubscriptionListDto, description: 'Every subscription, deleted ones inactive' })
  @RequireRoles('admin')
  async list(@Query() _query: NoQueryDto) {
    const subscriptions = await this.store
      .collection<WebhookSubscription>(SUBSCRIPTIONS)
      .find({}, { sort: { createdAt: 1 } });
    return { subscriptions: subscriptions.map(shown) };
  }

  @Delete('subscriptions/:id')
  @RequireRoles('admin')
  @Writes()
  @HttpCode(204)
  async remove(@Param() { id }: WebhookIdPathDto) {
    const subscription = await this.subscription(id);
    await this.store.write({
      ops: [{ op: 'upsert', collection: SUBSCRIPTIONS, doc: { ...subscription, active: false } }],
    });
  }

  @Post('subscriptions/:id/replay')
  @ApiAcceptedResponse({ type: WebhookReplayAcceptedDto, description: 'The replay is asked of the dispatcher' })
  @RequireRoles('admin')
  @Writes()
  @HttpCode(202)
  async replay(@Param() { id }: WebhookIdPathDto, @Body() body: ReplayDto) {
    const subscription = await this.subscription(id);
    if (!subscription.active)
      throw new ProblemError(
        409,
        'subscription-deleted',
        'The subscription was deleted',
        `subscription ${id} was deleted; nothing is delivered to it`,
      );
    const request: DeliveryRequest = { _id: newId(), kind: 'replay', subscriptionId: id, after: body.after };
    await this.store.write({ ops: [{ op: 'upsert', collection: REQUESTS, doc: request }] });
    return { accepted: true, subscriptionId: id, after: body.after };
  }

  /** Delivery state and lag, for the dashboard: no URL, no secret, no event. */
  @Get('status')
  @ApiOkResponse({ type: WebhookStatsDto, description: "The dispatcher's counts and lag" })
  @RequireRoles('admin', 'auditor')
  async status(@Query() _query: NoQueryDto) {
    return webhookStats(this.store, new Date());
  }

  @Get('deliveries')
  @ApiOkResponse({ type: WebhookDeliveriesDto, description: 'The newest deliveries' })
  @RequireRoles('admin')
  async deliveries(@Query() query: DeliveriesQuery) {
    const filter: Record<string, unknown> = {};
    if (query.subscriptionId) filter.subscriptionId = query.subscriptionId;
    if (query.status) filter.status = query.status;
    const deliveries = await this.store
      .collection<Delivery>(DELIVERIES)
      .find(filter, { sort: { position: -1 }, limit: query.limit });
    return {
      stats: await webhookStats(this.store, new Date()),
      deliveries: deliveries.map(({ _id, ...d }) => ({ id: _id, ...d })),
    };
  }

  @Post('deliveries/:id/redeliver')
  @ApiAcceptedResponse({ type: WebhookRedeliveryAcceptedDto, description: 'The redelivery is asked of the dispatcher' })
  @RequireRoles('admin')
  @Writes()
  @HttpCode(202)
  async redeliver(@Param() { id }: WebhookIdPathDto) {
    const delivery = await this.store.collection<Delivery>(DELIVERIES).get(id);
    if (!delivery) throw ProblemError.notFound('delivery', `no delivery ${id}`, 'path.id');
    const request: DeliveryRequest = { _id: newId(), kind: 'redeliver', deliveryId: id };
    await this.store.write({ ops: [{ op: 'upsert', collection: REQUESTS, doc: request }] });
    return { accepted: true, deliveryId: id };
  }

  private async subscription(id: string): Promise<WebhookSubscription> {
    const subscription = await this.store.collection<WebhookSubscription>(SUBSCRIPTIONS).get(id);
    if (!subscription) throw ProblemError.notFound('subscription', `no webhook subscription ${id}`, 'path.id');
    return subscription;
  }
}
