import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';

const MAX_SIZE = Number.MAX_SAFE_INTEGER;

export class InclusionProofQuery {
  @ApiPropertyOptional({ description: 'the event (give this or leafIndex)' })
  @IsOptional()
  @IsUUID()
  eventId?: string;

  @ApiPropertyOptional({ description: 'the leaf: the event at log position leafIndex + 1 (give this or eventId)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_SIZE)
  leafIndex?: number;

  @ApiPropertyOptional({ description: 'the tree size the proof leads to; default: the latest checkpoint' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_SIZE)
  treeSize?: number;
}

export class ConsistencyProofQuery {
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_SIZE)
  from!: number;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_SIZE)
  to!: number;
}

export class CheckpointHistoryQuery {
  @ApiPropertyOptional({
    description: 'only checkpoints older than this sequence number (the `next` of the previous page)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_SIZE)
  before?: number;

  @ApiPropertyOptional({ default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 20;
}

export class CosignatureDto {
  /** The checkpoint as served, with the witness's cosignature line added. */
  @IsString()
  @MaxLength(8192)
  note!: string;

  /** The witness's verifier key: <name>+<key id>+<base64(0x04 || Ed25519 public key)>. */
  @IsString()
  @MaxLength(400)
  witnessKey!: string;
}
