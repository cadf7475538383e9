/**
 * Answers of the auditors' routes as classes, read by @nestjs/swagger for the response schemas of the API document.
 * The values are built in audit.controller.ts and audit.service.ts; these describe them.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ClauseCitationDto, RuKkLabelDto } from '../../../shared/http/common-responses';

class EventLogStalenessDto {
  @ApiProperty({ enum: ['event-log'], description: 'read from the event log itself, no read model in between' })
  source!: 'event-log';

  @ApiProperty({ description: "the log position of the case's last event" })
  position!: number;

  @ApiProperty({ description: 'when that event was recorded' })
  at!: string;
}

class CaseReadDto {
  @ApiProperty({ example: '0b6f4a52-3c1e-4c8e-9a0f-2f4d7c9e1a01' })
  caseId!: string;

  @ApiProperty({ type: EventLogStalenessDto })
  staleness!: EventLogStalenessDto;
}

class WebhookToldDto {
  @ApiProperty() subscriptionId!: string;
  @ApiProperty({ type: String, nullable: true }) url!: string | null;
  @ApiProperty({ enum: ['pending', 'delivered', 'dead', 'cancelled'] }) status!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ type: String, nullable: true }) deliveredAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) lastError!: string | null;
}

class HistoryEventDto {
  @ApiProperty() streamId!: string;
  @ApiProperty() revision!: number;
  @ApiProperty() position!: number;
  @ApiProperty() id!: string;
  @ApiProperty() type!: string;
  @ApiProperty({ type: RuKkLabelDto, nullable: true }) label!: RuKkLabelDto | null;
  @ApiProperty({ type: ClauseCitationDto, nullable: true, description: 'the clause the act cites, if any' })
  citation!: ClauseCitationDto | null;
  @ApiProperty({ type: RuKkLabelDto, nullable: true, description: 'the role the act was done in' })
  actorRoleLabel!: RuKkLabelDto | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "the event's data as recorded" })
  data!: Record<string, unknown>;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'actor, regulation clause, occurredAt, recordedAt, hash, previousHash…',
  })
  metadata!: Record<string, unknown>;
  @ApiProperty() storedAt!: string;
  @ApiProperty({ type: [WebhookToldDto], description: "the event's webhook deliveries" })
  told!: WebhookToldDto[];
}

export class CaseHistoryDto extends CaseReadDto {
  @ApiProperty() regulationVersionId!: string;
  @ApiProperty({ deprecated: true, description: 'the same as regulationVersionId' }) versionId!: string;
  @ApiProperty({ description: "the case's events and deadline records, before filtering" }) total!: number;
  @ApiProperty({ description: 'the events after the type and time filters' }) returned!: number;
  @ApiProperty({ type: [HistoryEventDto] }) events!: HistoryEventDto[];
}

export class CaseStateDto extends CaseReadDto {
  @ApiProperty({ enum: ['event-log'] }) replayedFrom!: 'event-log';
  @ApiProperty() asOf!: string;
  @ApiPropertyOptional() atRevision?: number;
  @ApiPropertyOptional({ enum: ['occurred', 'recorded'] }) time?: string;
  @ApiProperty() revision!: number;
  @ApiProperty({ description: 'the count of events replayed' }) events!: number;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'the case state after those events' })
  state!: Record<string, unknown>;
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'the SLA rows of that state, each with its citation',
  })
  sla!: Record<string, unknown>[];
}

export class CaseExplanationDto extends CaseReadDto {
  @ApiProperty() regulationVersionId!: string;
  @ApiProperty({ deprecated: true, description: 'the same as regulationVersionId' }) versionId!: string;
  @ApiProperty() trackId!: string;
  @ApiProperty() asOf!: string;
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description:
      'each deadline of the case: its clause, start, the days counted and skipped, the result; a row waiting for the date its clock counts from (status waiting) has no start and no explanation',
  })
  deadlines!: Record<string, unknown>[];
}

export class CaseVerificationDto extends CaseReadDto {
  @ApiProperty({ description: 'every hash and link of the chain holds' }) valid!: boolean;
  @ApiProperty({ description: 'the events checked' }) events!: number;
  @ApiPropertyOptional({ description: 'the first revision whose hash or link does not hold' })
  firstBrokenRevision?: number;
  @ApiPropertyOptional() problem?: string;
  @ApiProperty({ type: String, nullable: true, description: "the last event's hash" }) headHash!: string | null;
}

export class EvidencePublicKeyDto {
  @ApiProperty({ enum: ['Ed25519'] }) algorithm!: 'Ed25519';
  @ApiProperty({ description: 'PEM (SPKI)' }) publicKey!: string;
  @ApiProperty() keyFingerprint!: string;
}
