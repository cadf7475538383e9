/**
 * Answers of the transparency routes (JSON ones; checkpoints themselves are signed notes in text/plain) as classes,
 * read by @nestjs/swagger for the response schemas of the API document. The values are built in transparency-log.ts.
 */
import { ApiProperty } from '@nestjs/swagger';

const NOTE = 'a signed note (C2SP tlog-checkpoint), with the cosignatures collected';

class CheckpointEntryDto {
  @ApiProperty() seq!: number;
  @ApiProperty() treeSize!: number;
  @ApiProperty({ description: 'base64' }) rootHash!: string;
  @ApiProperty() signedAt!: string;
  @ApiProperty() keyId!: string;
  @ApiProperty({ description: NOTE }) note!: string;
}

export class CheckpointHistoryDto {
  @ApiProperty({ type: [CheckpointEntryDto], description: 'newest first' }) checkpoints!: CheckpointEntryDto[];
  @ApiProperty({ type: Number, nullable: true, description: 'pass as `before` for the next page; null: no more' })
  next!: number | null;
}

export class InclusionProofDto {
  @ApiProperty() leafIndex!: number;
  @ApiProperty() treeSize!: number;
  @ApiProperty({ description: "the leaf data: the event's sealed hash, hex" }) leaf!: string;
  @ApiProperty({ description: 'hex' }) leafHash!: string;
  @ApiProperty({ type: [String], description: 'the audit path, base64 hashes (RFC 6962)' }) proof!: string[];
  @ApiProperty({ type: String, nullable: true, description: 'the signed checkpoint of that tree size, if issued' })
  checkpoint!: string | null;
}

export class ConsistencyProofDto {
  @ApiProperty() from!: number;
  @ApiProperty() to!: number;
  @ApiProperty({ type: [String], description: 'base64 hashes (RFC 6962)' }) proof!: string[];
  @ApiProperty({ type: String, nullable: true }) fromCheckpoint!: string | null;
  @ApiProperty({ type: String, nullable: true }) toCheckpoint!: string | null;
}

export class CosignatureAcceptedDto {
  @ApiProperty({ description: 'the checkpoint cosigned' }) seq!: number;
  @ApiProperty({ description: "the witness's key name" }) witness!: string;
  @ApiProperty({
    enum: ['added', 'replaced', 'unchanged'],
    description:
      'a witness keeps one cosignature per checkpoint: `replaced` its earlier one (this one is later), `unchanged` when the one kept is as late or later',
  })
  outcome!: string;
}

class TransparencyKeyDto {
  @ApiProperty() label!: string;
  @ApiProperty({ enum: ['active', 'retired'] }) status!: string;
  @ApiProperty() keyName!: string;
  @ApiProperty({ description: 'hex' }) keyId!: string;
  @ApiProperty({ description: 'the verifier key, as signed-note tools take it' }) vkey!: string;
  @ApiProperty() fingerprint!: string;
  @ApiProperty({ description: 'PEM (SPKI)' }) publicKey!: string;
  @ApiProperty({ type: String, nullable: true }) firstSigned!: string | null;
  @ApiProperty({ type: String, nullable: true }) lastSigned!: string | null;
  @ApiProperty({ description: 'checkpoints signed with it' }) checkpoints!: number;
}

export class TransparencyKeysDto {
  @ApiProperty() origin!: string;
  @ApiProperty({ enum: ['Ed25519'] }) algorithm!: 'Ed25519';
  @ApiProperty({ type: [TransparencyKeyDto] }) keys!: TransparencyKeyDto[];
}

class EventInclusionDto {
  @ApiProperty({ format: 'uuid' }) eventId!: string;
  @ApiProperty({ description: "the event's leaf in the tree (on EventStoreDB not its position in the log)" })
  leafIndex!: number;
  @ApiProperty({ description: "the leaf data: the event's sealed hash, hex" }) leaf!: string;
  @ApiProperty({ type: [String], description: 'the audit path to the checkpoint, base64 hashes (RFC 6962)' })
  proof!: string[];
}

export class EvidenceProofsAnswerDto {
  @ApiProperty({
    description:
      'the checkpoint every proof leads to, as served: the newest a configured witness cosigned that holds them all, else the latest, signed now if the log has grown',
  })
  checkpoint!: string;
  @ApiProperty({ type: [EventInclusionDto], description: 'in the order the events were asked for' })
  events!: EventInclusionDto[];
}
