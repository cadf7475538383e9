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

class RetentionDueSubjectDto {
  @ApiProperty({ type: String, nullable: true, description: 'null: cases whose applicant is stored in clear' })
  subjectId!: string | null;
  @ApiProperty({ type: [CaseRetentionDto] }) cases!: CaseRetentionDto[];
}

export class RetentionDueDto {
  @ApiProperty({ type: [RetentionDueSubjectDto] }) due!: RetentionDueSubjectDto[];
}
