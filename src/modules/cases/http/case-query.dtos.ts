/**
 * The path parameters of the case routes and the query parameters of the case reads as DTO classes: validated by the validation pipe (errors named
 * `path.x` / `query.x`, unknown parameters refused) and read by @nestjs/swagger for the document, one definition for
 * both. What needs the catalog or the time zone (a known service, a date's instant) is the query's to check.
 */
import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { checkIin } from '../../identity/domain/iin';
import { ParameterDto } from '../../../shared/problem/validation';
import {
  Checked,
  DATE_ZONE_NOTE,
  DateOrInstant,
  OneOf,
  Pattern,
  Text,
  UnitId,
  WholeNumber,
} from '../../../shared/http/parameter-constraints';
import { decodeCursor, DEFAULT_LIMIT, MAX_LIMIT } from '../queries/case-cursor';
import { UNIT_ID } from '../../../shared/unit-id';

const CASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STATUSES = ['open', 'completed', 'refused', 'cancelled'] as const;
const AFTER_DESCRIPTION =
  'a log position returned by a command: the read waits until the model has applied it (503 with Retry-After if it does not in time)';
const AFTER_NOTE = ': the position returned by a command (POST /api/cases…)';

@ParameterDto('path')
export class CasePathDto {
  @ApiProperty({
    description: 'a case id as returned by POST /api/cases',
    example: '0b6f4a52-3c1e-4c8e-9a0f-2f4d7c9e1a01',
  })
  @Pattern(
    CASE_ID,
    (value) => `"${value}" is not a case id`,
    'a case id as returned by POST /api/cases (lower-case UUID)',
  )
  caseId!: string;
}

const STEP_ID = /^(?=.{1,100}$)[a-z0-9]+(-[a-z0-9]+)*$/;

@ParameterDto('path')
export class StepPathDto extends CasePathDto {
  @ApiProperty({
    description: "a step of the case's regulation version and track (GET /api/regulations/{versionId})",
    example: 'documents-registered',
  })
  @Pattern(
    STEP_ID,
    (value) => `"${value}" is not a step id`,
    "a kebab-case step id of the case's regulation, e.g. documents-registered",
  )
  stepId!: string;
}

@ParameterDto('query')
export class CaseReadQueryDto {
  @ApiPropertyOptional({ type: 'integer', description: AFTER_DESCRIPTION, example: 42 })
  @IsOptional()
  @WholeNumber(0, Number.MAX_SAFE_INTEGER, AFTER_NOTE)
  after?: number;
}

@ParameterDto('query')
export class CaseSlaQueryDto extends CaseReadQueryDto {
  @ApiPropertyOptional({
    description: `the instant the SLA is read at, not before the submission; default now. An instant with an offset, or a date (${DATE_ZONE_NOTE}; the end of that day)`,
    example: '2015-09-20T10:00:00+06:00',
  })
  @IsOptional()
  @DateOrInstant()
  asOf?: string;
}

@ParameterDto('query')
export class CaseListQueryDto extends CaseReadQueryDto {
  @ApiPropertyOptional({ description: 'a service of the catalog (GET /api/regulations)', example: 'personnel-reserve' })
  @IsOptional()
  @Text(100)
  serviceId?: string;

  @ApiPropertyOptional({ enum: STATUSES })
  @IsOptional()
  @OneOf(STATUSES, 'a case status')
  status?: (typeof STATUSES)[number];

  @ApiPropertyOptional({ example: 'astana', pattern: UNIT_ID.source })
  @IsOptional()
  @UnitId()
  unit?: string;

  @ApiPropertyOptional({ description: 'the id of the employee the case is assigned to' })
  @IsOptional()
  @Text(200)
  assignee?: string;

  @ApiPropertyOptional({
    description: "the applicant's IIN (12 digits, check digit verified); an applicant may give only their own",
    example: '900502400172',
  })
  @IsOptional()
  @Checked((value) => {
    const check = checkIin(value);
    return check.valid ? null : `is not a valid IIN: ${check.problem.message}`;
  }, '12 digits with a valid check digit')
  applicantIin?: string;

  @ApiPropertyOptional({
    description: `an instant with an offset, or a date (${DATE_ZONE_NOTE}, from its start); inclusive`,
    example: '2015-09-01',
  })
  @IsOptional()
  @DateOrInstant()
  submittedFrom?: string;

  @ApiPropertyOptional({
    description: `an instant with an offset, or a date (${DATE_ZONE_NOTE}, to its end); inclusive`,
    example: '2015-09-30',
  })
  @IsOptional()
  @DateOrInstant()
  submittedTo?: string;

  @ApiPropertyOptional({
    type: 'integer',
    description: `rows a page; default ${DEFAULT_LIMIT}`,
    minimum: 1,
    maximum: MAX_LIMIT,
    example: DEFAULT_LIMIT,
  })
  @IsOptional()
  @WholeNumber(1, MAX_LIMIT)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page, unchanged' })
  @IsOptional()
  @Checked(
    (value) => (decodeCursor(value) ? null : 'is not a cursor this endpoint issued'),
    'the nextCursor of a previous page, unchanged',
  )
  cursor?: string;
}
