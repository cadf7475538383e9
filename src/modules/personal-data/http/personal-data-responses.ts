/**
 * Answers of the personal-data routes as classes, read by @nestjs/swagger for the response schemas of the API
 * document. The values are built in commands/erase-subject.ts and the controller; these describe them.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

class ErasedCaseDto {
  @ApiProperty() caseId!: string;
  @ApiProperty() versionId!: string;
  @ApiProperty({ type: String, nullable: true }) closedAt!: string | null;
}

export class ErasureDoneDto {
  @ApiProperty({ type: [String], description: 'the data subjects whose keys were destroyed' }) subjects!: string[];
  @ApiProperty({ type: [ErasedCaseDto] }) cases!: ErasedCaseDto[];
  @ApiProperty({ type: [Number], description: 'the log positions of the erasure records' }) positions!: number[];
  @ApiProperty({
    description:
      'acts recorded with personal data in clear (before encryption, or naming the citizen who acted as their token named them), which the log keeps readable',
  })
  clearTextActs!: number;
  @ApiPropertyOptional({ description: 'present when clearTextActs > 0' }) warning?: string;
}

class CaseRetentionDto {
  @ApiProperty() caseId!: string;
  @ApiProperty() versionId!: string;
  @ApiProperty() status!: string;
  @ApiProperty({ type: String, nullable: true }) closedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'when its personal data is due for erasure' })
  retainedUntil!: string | null;
  @ApiProperty({ description: 'the retention rule applied' }) basis!: string;
}

class EraseWithDto {
  @ApiPropertyOptional({ description: 'the subject to name in the erasure' }) subjectId?: string;
  @ApiPropertyOptional({ description: 'the case whose applicant to name in the erasure (they have no key)' })
  caseId?: string;
}

class RetentionDueSubjectDto {
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'the subject of the case the person was found by; null: that case was filed before encryption (its applicant is stored in clear, with no key)',
  })
  subjectId!: string | null;
  @ApiProperty({
    type: [CaseRetentionDto],
    description: "every case the person's erasure takes now, each closed and past its retention period",
  })
  cases!: CaseRetentionDto[];
  @ApiProperty({
    type: EraseWithDto,
    description:
      'what names the person in POST /api/personal-data/erasures (with basis and reference): subjectId, or caseId where they have no subject',
  })
  eraseWith!: EraseWithDto;
}

export class RetentionDueDto {
  @ApiProperty({
    type: [RetentionDueSubjectDto],
    description: 'the people whose erasure would be done now: none of their cases open or inside its retention period',
  })
  due!: RetentionDueSubjectDto[];
}
