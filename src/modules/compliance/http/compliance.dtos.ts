/**
 * The query strings of the dashboard's reads (summary, overdue, at risk, a step's cases) and of the worklist as DTO
 * classes: validated by the validation pipe (errors named `query.x`, unknown parameters refused) and read by
 * @nestjs/swagger for the document. What needs the catalog (a known service, version, track or step) is the
 * controller's to check.
 */
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, ValidateBy, type ValidationArguments } from 'class-validator';
import { ROLES, type Role } from '../../identity/domain/principal';
import { GROUP_BY, type GroupBy } from '../domain/rollup';
import { daysInMonth, localDateProblem } from '../../../shared/dates/local-date';
import { ParameterDto } from '../../../shared/problem/validation';
import {
  Checked,
  DATE_ZONE_NOTE,
  DateOrInstant,
  OneOf,
  Text,
  UnitId,
  WholeNumber,
} from '../../../shared/http/parameter-constraints';
import {
  ExportFormatParameter,
  ExportLanguageParameter,
  type ExportFormat,
  type ExportLanguage,
} from '../../../shared/http/table-export';
import { UNIT_ID } from '../../../shared/unit-id';

const MONTH_OR_DATE = /^(\d{4})-(0[1-9]|1[0-2])(-(\d{2}))?$/;
const MONTH_OR_DATE_ALLOWED = 'YYYY-MM or YYYY-MM-DD, a local date in Asia/Almaty (summaries count whole months)';
export const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;

function monthOrDateProblem(value: string): string | null {
  const match = MONTH_OR_DATE.exec(value);
  if (!match) return `"${value.slice(0, 100)}" is not a month or a date`;
  return match[4] ? localDateProblem(value) : null;
}

/** The day a month or a date stands for: a month's first day as `from`, its last as `to`; null if it is neither. */
export function dayOfMonthOrDate(value: string, end: 'from' | 'to'): string | null {
  const match = MONTH_OR_DATE.exec(value);
  if (!match || monthOrDateProblem(value)) return null;
  if (match[4]) return value;
  return `${match[1]}-${match[2]}-${end === 'from' ? '01' : String(daysInMonth(Number(match[1]), Number(match[2]))).padStart(2, '0')}`;
}

/** `to` not before `from`, each read as the day it stands for (each checks its own form). */
const NotBeforeFromMonth = (): PropertyDecorator =>
  ValidateBy(
    {
      name: 'notBeforeFrom',
      validator: {
        validate: (value: unknown, args?: ValidationArguments) => {
          const from = (args?.object as { from?: unknown }).from;
          if (typeof value !== 'string' || typeof from !== 'string') return true;
          const [fromDay, toDay] = [dayOfMonthOrDate(from, 'from'), dayOfMonthOrDate(value, 'to')];
          return fromDay === null || toDay === null || toDay >= fromDay;
        },
        defaultMessage: (args?: ValidationArguments) =>
          `${String(args?.value)} is before from (${String((args?.object as { from?: unknown }).from)})`,
      },
    },
    { context: { allowed: 'a month or date at or after from' } },
  );

const AFTER_DESCRIPTION =
  'a log position returned by a command: the read waits until the model has applied it (503 with Retry-After if it does not in time)';
const AFTER_NOTE = ': the position returned by a command (POST /api/cases…)';

/** The filters every dashboard read takes; a head's own unit is applied whatever `unit` says. */
@ParameterDto('query')
export class ComplianceFilterQueryDto {
  @ApiPropertyOptional({
    description: 'a service of the catalog (GET /api/regulations); an unknown one is 404',
    example: 'personnel-reserve',
  })
  @IsOptional()
  @Text(100)
  serviceId?: string;

  @ApiPropertyOptional({
    description: 'a unit id; a head of unit reads only their own (403 for another)',
    example: 'astana',
  })
  @IsOptional()
  @UnitId()
  unit?: string;

  @ApiPropertyOptional({
    description: `the first month (YYYY-MM, from its first day) or date of the period, inclusive; ${DATE_ZONE_NOTE}. Summaries count whole months`,
    example: '2015-09',
  })
  @IsOptional()
  @Checked(monthOrDateProblem, MONTH_OR_DATE_ALLOWED)
  from?: string;

  @ApiPropertyOptional({
    description: `the last month (YYYY-MM, to its last day) or date of the period, inclusive; ${DATE_ZONE_NOTE}. Summaries count whole months`,
    example: '2015-12-31',
  })
  @IsOptional()
  @Checked(monthOrDateProblem, MONTH_OR_DATE_ALLOWED)
  @NotBeforeFromMonth()
  to?: string;

  @ApiPropertyOptional({
    description: `the instant the deadlines are read at, with its offset, or the end of a date (${DATE_ZONE_NOTE}); default now`,
    example: '2016-03-09T13:00:00+06:00',
  })
  @IsOptional()
  @DateOrInstant()
  asOf?: string;

  @ApiPropertyOptional({ type: 'integer', description: AFTER_DESCRIPTION, example: 42 })
  @IsOptional()
  @WholeNumber(0, Number.MAX_SAFE_INTEGER, AFTER_NOTE)
  after?: number;
}

@ParameterDto('query')
export class SummaryQueryDto extends ComplianceFilterQueryDto {
  @ApiPropertyOptional({ enum: GROUP_BY, description: 'what each row counts; default service' })
  @IsOptional()
  @OneOf(GROUP_BY, 'a grouping', GROUP_BY.join(' | '))
  groupBy?: GroupBy;

  @ApiPropertyOptional({
    description: 'a regulation version of the catalog (of serviceId, if given); an unknown one is 404',
    example: 'personnel-reserve/order-1-2030',
  })
  @IsOptional()
  @Text(200)
  versionId?: string;

  @ApiPropertyOptional({ description: 'a track of the version or service given (GET /api/regulations/{versionId})' })
  @IsOptional()
  @Text(100)
  trackId?: string;

  @ExportFormatParameter()
  format?: ExportFormat;

  @ExportLanguageParameter()
  lang?: ExportLanguage;
}

/** A list's filters and page; a download has every row, not one page. */
@ParameterDto('query')
export class ComplianceListQueryDto extends ComplianceFilterQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    description: `rows a page; default ${DEFAULT_LIST_LIMIT}`,
    minimum: 1,
    maximum: MAX_LIST_LIMIT,
    example: 50,
  })
  @IsOptional()
  @WholeNumber(1, MAX_LIST_LIMIT)
  limit?: number;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'rows to skip (the page starts after them); default 0',
    minimum: 0,
    example: 0,
  })
  @IsOptional()
  @WholeNumber(0, Number.MAX_SAFE_INTEGER)
  offset?: number;

  @ExportFormatParameter()
  format?: ExportFormat;

  @ExportLanguageParameter()
  lang?: ExportLanguage;
}

@ParameterDto('query')
export class OverdueQueryDto extends ComplianceListQueryDto {
  @ApiPropertyOptional({ enum: Object.keys(ROLES), description: 'only the steps this role takes' })
  @IsOptional()
  @OneOf(Object.keys(ROLES), 'a role', Object.keys(ROLES).join(' | '))
  role?: Role;
}

@ParameterDto('query')
export class StepCasesQueryDto extends ComplianceListQueryDto {
  @ApiPropertyOptional({ description: 'a step of serviceId (required, as is serviceId)', example: 'admitted-to-test' })
  @IsOptional()
  @Text(100)
  stepId?: string;
}

@ParameterDto('query')
export class WorklistQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    description: `rows; default ${DEFAULT_LIST_LIMIT}`,
    minimum: 1,
    maximum: MAX_LIST_LIMIT,
    example: 50,
  })
  @IsOptional()
  @WholeNumber(1, MAX_LIST_LIMIT)
  limit?: number;

  @ApiPropertyOptional({ type: 'integer', description: AFTER_DESCRIPTION, example: 42 })
  @IsOptional()
  @WholeNumber(0, Number.MAX_SAFE_INTEGER, AFTER_NOTE)
  after?: number;
}
