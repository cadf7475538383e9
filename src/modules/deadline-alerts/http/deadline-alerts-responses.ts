/**
 * Answers of the feed and webhook routes as classes, read by @nestjs/swagger for the response schemas of the API
 * document. The values are built in feed.queries.ts, webhooks.controller.ts and the dispatcher; these describe them.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'cancelled'];

class FeedItemDto {
  @ApiProperty({ description: 'the log position; pass the last one seen as `after`' }) position!: number;
  @ApiProperty() id!: string;
  @ApiProperty({ example: 'DeadlineWarning' }) type!: string;
  @ApiProperty() caseId!: string;
  @ApiProperty() unit!: string;
  @ApiProperty() streamId!: string;
  @ApiProperty() revision!: number;
  @ApiProperty() recordedAt!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "the event's data" })
  data!: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata!: Record<string, unknown>;
}

export class FeedPageDto {
  @ApiProperty({ type: [FeedItemDto] }) items!: FeedItemDto[];
  @ApiProperty({ description: 'pass as `after` for the next page: the last position looked at, returned or not' })
  next!: number;
  @ApiProperty({ description: "the log's head when the page was read: `next` equal to it means up to date" })
  head!: number;
}

export class WebhookSubscriptionDto {
  @ApiProperty() id!: string;
  @ApiProperty({ example: 'https://backoffice.example.kz/hooks/reglament' }) url!: string;
  @ApiProperty({ type: [String], nullable: true, description: 'null: every event type' }) eventTypes!: string[] | null;
  @ApiProperty({ type: [String], nullable: true, description: 'null: every unit' }) units!: string[] | null;
  @ApiProperty({ description: 'false once deleted' }) active!: boolean;
  @ApiProperty() createdAt!: string;
  @ApiProperty() createdBy!: string;
}

export class CreatedWebhookSubscriptionDto extends WebhookSubscriptionDto {
  @ApiProperty({ description: 'the signing secret; shown this once only' }) secret!: string;
}

export class WebhookSubscriptionListDto {
  @ApiProperty({ type: [WebhookSubscriptionDto] }) subscriptions!: WebhookSubscriptionDto[];
}

export class WebhookReplayAcceptedDto {
  @ApiProperty({ enum: [true] }) accepted!: true;
  @ApiProperty() subscriptionId!: string;
  @ApiProperty() after!: number;
}

export class WebhookRedeliveryAcceptedDto {
  @ApiProperty({ enum: [true] }) accepted!: true;
  @ApiProperty() deliveryId!: string;
}

export class WebhookStatsDto {
  @ApiProperty() pending!: number;
  @ApiProperty() delivered!: number;
  @ApiProperty() dead!: number;
  @ApiProperty({ description: 'age of the oldest pending delivery, in seconds' }) lagSeconds!: number;
  @ApiProperty({ description: 'the log position the dispatcher has read up to' }) position!: number;
}

class WebhookDeliveryDto {
  @ApiProperty() id!: string;
  @ApiProperty() subscriptionId!: string;
  @ApiProperty({ description: 'the `webhook-id` a receiver de-duplicates by' }) eventId!: string;
  @ApiProperty() streamId!: string;
  @ApiProperty() revision!: number;
  @ApiProperty() position!: number;
  @ApiProperty() caseId!: string;
  @ApiProperty() type!: string;
  @ApiProperty() orderKey!: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ description: 'epoch milliseconds' }) nextAttemptAt!: number;
  @ApiProperty() createdAt!: string;
  @ApiPropertyOptional() lastAttemptAt?: string;
  @ApiPropertyOptional({ type: Number, nullable: true }) lastStatus?: number | null;
  @ApiPropertyOptional({ type: String, nullable: true }) lastError?: string | null;
  @ApiPropertyOptional() deliveredAt?: string;
}

export class WebhookDeliveriesDto {
  @ApiProperty({ type: WebhookStatsDto }) stats!: WebhookStatsDto;
  @ApiProperty({ type: [WebhookDeliveryDto] }) deliveries!: WebhookDeliveryDto[];
}
