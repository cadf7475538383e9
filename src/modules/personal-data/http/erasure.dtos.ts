/** The body of an erasure, validated at the edge (unknown fields refused). */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, IsUUID, Matches } from 'class-validator';
import { Optional } from '../../../shared/problem/optional';
import { Checked, Pattern } from '../../../shared/http/parameter-constraints';
import { CASE_ID, CASE_ID_ALLOWED, ERASURE_TEXT, erasureTextProblem } from '../domain/erasure-record';

/** The rules the CLI applies to its options too (erasure-record.ts): the problem, and what is allowed. */
const RecordedText = (field: 'basis' | 'reference') =>
  Checked((value) => erasureTextProblem(field, value), ERASURE_TEXT[field].allowed);

export class EraseSubjectDto {
  @ApiPropertyOptional({
    example: '900502400172',
    description: 'the data subject by IIN; or subjectId, or caseId (as the retention report gives them)',
  })
  @Optional()
  @IsString()
  @Matches(/^\d{12}$/, { message: 'must be 12 digits' })
  iin?: string;

  @ApiPropertyOptional({
    description:
      "the data subject by its key-store id (the retention report's subjectId): the person it belongs to is erased, with their other subjects and their cases filed before encryption",
  })
  @Optional()
  @IsUUID()
  subjectId?: string;

  @ApiPropertyOptional({
    description:
      "the applicant of this case (the retention report's eraseWith.caseId), for one whose cases were filed before encryption and who has no key; the person is erased as by their IIN",
    example: '0b6f4a52-3c1e-4c8e-9a0f-2f4d7c9e1a01',
    pattern: CASE_ID.source,
  })
  @Optional()
  @Pattern(CASE_ID, () => 'is not a case id', CASE_ID_ALLOWED)
  caseId?: string;

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
