/** Query strings and bodies of the feed and the webhook admin API, validated at the edge (unknown fields refused). */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { EVENT_TYPE_NAMES } from '../../../events/event-types';
import { SYSTEM_EVENT_TYPE_NAMES } from '../../../events/system-event-types';
import { ParameterDto } from '../../../shared/problem/validation';
import { Optional } from '../../../shared/problem/optional';
import { OneOf, Text, UnitId, WholeNumber } from '../../../shared/http/parameter-constraints';
import { UNIT_ID } from '../../../shared/unit-id';

export const FEED_EVENT_TYPES: readonly string[] = [...EVENT_TYPE_NAMES, ...SYSTEM_EVENT_TYPE_NAMES];
const TYPES_MESSAGE = `each must be one of ${FEED_EVENT_TYPES.join(', ')}`;
const TYPES_ALLOWED = `event types, comma-separated: ${FEED_EVENT_TYPES.join(', ')}`;
const list = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
    : value;

@ParameterDto('query')
export class FeedQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description: 'events strictly after this log position (0: from the start)',
    default: 0,
  })
  @IsOptional()
  @WholeNumber(0, Number.MAX_SAFE_INTEGER)
  after = 0;

  @ApiPropertyOptional({ description: 'comma-separated event types', example: 'DeadlineApproaching,DeadlineBreached' })
  @IsOptional()
  @Transform(list)
  @IsArray()
  @IsIn(FEED_EVENT_TYPES, { each: true, message: TYPES_MESSAGE, context: { allowed: TYPES_ALLOWED } })
  types?: string[];

  @ApiPropertyOptional({ description: 'the cases of one unit (staff: their own)', pattern: UNIT_ID.source })
  @IsOptional()
  @UnitId()
  unit?: string;

  @ApiPropertyOptional({ type: 'integer', default: 100, minimum: 1, maximum: 1000 })
  @IsOptional()
  @WholeNumber(1, 1000)
  limit = 100;
}

export class CreateSubscriptionDto {
  @ApiProperty({ example: 'https://backoffice.example.kz/hooks/reglament' })
  @IsString()
  @MaxLength(2000)
  url!: string;

  @ApiPropertyOptional({ description: 'the event types to deliver; absent: every type', example: ['DeadlineBreached'] })
  @Optional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsIn(FEED_EVENT_TYPES, { each: true, message: TYPES_MESSAGE })
  eventTypes?: string[];

  @ApiPropertyOptional({ description: 'the units whose cases to deliver; absent: every unit', example: ['astana'] })
  @Optional()
  @IsArray()
  @ArrayMaxSize(1000)
  @Matches(UNIT_ID, { each: true, message: 'each must be a unit id' })
  units?: string[];

  @ApiPropertyOptional({
    description: 'the signing secret, whsec_ and base64 of 24 to 64 bytes; generated when absent (shown once)',
  })
  @Optional()
  @IsString()
  @Matches(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, {
    message: 'must be whsec_ followed by the base64 of 24 to 64 random bytes',
  })
  secret?: string;
}

const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'cancelled'] as const;

@ParameterDto('query')
export class DeliveriesQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @Text(100)
  subscriptionId?: string;

  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @OneOf(DELIVERY_STATUSES, 'a delivery status')
  status?: (typeof DELIVERY_STATUSES)[number];

  @ApiPropertyOptional({ type: 'integer', default: 100, minimum: 1, maximum: 1000 })
  @IsOptional()
  @WholeNumber(1, 1000)
  limit = 100;
}

/** A subscription's or a delivery's id: any id this API did not issue is simply not found (404). */
@ParameterDto('path')
export class WebhookIdPathDto {
  @ApiProperty({
    description:
      'the id returned when the subscription was created, or a delivery listed by GET /api/webhooks/deliveries',
    example: '0190f0f0-0000-7000-8000-000000000000',
  })
  @Text(100)
  id!: string;
}

export class ReplayDto {
  @ApiProperty({ description: 'deliver again every matching event after this log position' })
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after!: number;
}
