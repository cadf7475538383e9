import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { Pattern, WholeNumber } from '../../../shared/http/parameter-constraints';
import { ParameterDto } from '../../../shared/problem/validation';

const MAX_SIZE = Number.MAX_SAFE_INTEGER;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@ParameterDto('query')
export class InclusionProofQuery {
  @ApiPropertyOptional({ description: 'the event (give this or leafIndex)', format: 'uuid' })
  @IsOptional()
  @Pattern(UUID, (value) => `"${value}" is not an event id`, 'an event id: a UUID')
  eventId?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description: 'the leaf: the event at log position leafIndex + 1 (give this or eventId)',
  })
  @IsOptional()
  @WholeNumber(0, MAX_SIZE)
  leafIndex?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: 'the tree size the proof leads to; default: the latest checkpoint',
  })
  @IsOptional()
  @WholeNumber(1, MAX_SIZE)
  treeSize?: number;
}

@ParameterDto('query')
export class ConsistencyProofQuery {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'the older tree size' })
  @WholeNumber(0, MAX_SIZE)
  from!: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'the newer tree size, at most the latest checkpoint' })
  @WholeNumber(0, MAX_SIZE)
  to!: number;
}

@ParameterDto('query')
export class CheckpointHistoryQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: 'only checkpoints older than this sequence number (the `next` of the previous page)',
  })
  @IsOptional()
  @WholeNumber(1, MAX_SIZE)
  before?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 200, default: 20 })
  @IsOptional()
  @WholeNumber(1, 200)
  limit: number = 20;
}

export class CosignatureDto {
  @ApiProperty({
    description: "the checkpoint as served, with the witness's cosignature line added",
    maxLength: 8192,
  })
  @IsString()
  @MaxLength(8192)
  note!: string;

  @ApiProperty({
    description:
      "the witness's verifier key, one the operator configured (TRANSPARENCY_WITNESSES): <name>+<key id>+<base64(0x04 || Ed25519 public key)>",
    maxLength: 400,
  })
  @IsString()
  @MaxLength(400)
  witnessKey!: string;
}

/** The most events one request asks proofs for: a case's whole history, with room. */
export const EVIDENCE_PROOFS_MAX_EVENTS = 10_000;

export class EvidenceProofsDto {
  @ApiProperty({ description: 'the case the events are of', format: 'uuid' })
  @IsString()
  @Matches(UUID, { message: 'must be a case id (a UUID)' })
  caseId!: string;

  @ApiProperty({
    description:
      "the events, by id, in the order their proofs are wanted (an evidence pack's: the case's revisions, then the erasure records that name the case)",
    type: [String],
    format: 'uuid',
    minItems: 1,
    maxItems: EVIDENCE_PROOFS_MAX_EVENTS,
    uniqueItems: true,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVIDENCE_PROOFS_MAX_EVENTS)
  @Matches(UUID, { each: true, message: 'each must be an event id (a UUID)' })
  eventIds!: string[];
}
