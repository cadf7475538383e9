/** The body of an erasure, validated at the edge (unknown fields refused). */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, IsUUID, Matches } from 'class-validator';
import { Optional } from '../../../shared/problem/optional';
import { Checked } from '../../../shared/http/parameter-constraints';
import { ERASURE_TEXT, erasureTextProblem } from '../domain/erasure-record';

/** The rules the CLI applies to its options too (erasure-record.ts): the problem, and what is allowed. */
const RecordedText = (field: 'basis' | 'reference') =>
  Checked((value) => erasureTextProblem(field, value), ERASURE_TEXT[field].allowed);

export class EraseSubjectDto {
  @ApiPropertyOptional({
    example: '900502400172',
    description: 'the data subject by IIN; or subjectId (from the retention report)',
  })
  @Optional()
  @IsString()
  @Matches(/^\d{12}$/, { message: 'must be 12 digits' })
  iin?: string;

  @ApiPropertyOptional({ description: 'the data subject by its key-store id' })
  @Optional()
  @IsUUID()
  subjectId?: string;

  @ApiProperty({
    example: 'retention period ended',
    description: `${ERASURE_TEXT.basis.allowed}; recorded (trimmed) with the erasure`,
    maxLength: ERASURE_TEXT.basis.max,
  })
  @RecordedText('basis')
  basis!: string;

  @ApiProperty({
    example: 'Law No. 94-V of 21 May 2013, art. 12',
    description: `${ERASURE_TEXT.reference.allowed}; recorded (trimmed) with the erasure`,
    maxLength: ERASURE_TEXT.reference.max,
  })
  @RecordedText('reference')
  reference!: string;
}
