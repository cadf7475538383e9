/** The query parameters of the auditors' reads as DTO classes (validated by the pipe, read by swagger). */
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, ValidateBy, type ValidationArguments } from 'class-validator';
import { EVENT_TYPE_NAMES, isEventType } from '../../../events/event-types';
import { isSystemEventType, SYSTEM_EVENT_TYPE_NAMES } from '../../../events/system-event-types';
import { ParameterDto } from '../../../shared/problem/validation';
import {
  ExportFormatParameter,
  ExportLanguageParameter,
  type ExportFormat,
  type ExportLanguage,
} from '../../../shared/http/table-export';
import {
  Checked,
  DATE_ZONE_NOTE,
  DateOrInstant,
  dateOrInstantProblem,
  isLocalDate,
  OneOf,
  WholeNumber,
} from '../../../shared/http/parameter-constraints';

const unknownTypes = (value: string) =>
  value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => !isEventType(t) && !isSystemEventType(t));

/**
 * Not before `from` of the same query, when both are dates or both instants (each checks its own form); a date
 * against an instant needs the calendar's zone, so the route compares those once it has turned both into instants.
 */
const NotBeforeFrom = (): PropertyDecorator =>
  ValidateBy(
    {
      name: 'notBeforeFrom',
      validator: {
        validate: (value: unknown, args?: ValidationArguments) => {
          const from = (args?.object as { from?: unknown }).from;
          if (
            typeof value !== 'string' ||
            typeof from !== 'string' ||
            dateOrInstantProblem(value) ||
            dateOrInstantProblem(from)
          )
            return true;
          if (isLocalDate(value) !== isLocalDate(from)) return true;
          return isLocalDate(value) ? value >= from : Date.parse(value) >= Date.parse(from);
        },
        defaultMessage: (args?: ValidationArguments) =>
          `${String(args?.value)} is before from (${String((args?.object as { from?: unknown }).from)})`,
      },
    },
    { context: { allowed: 'a date or an instant at or after from' } },
  );

const TIME_AXES = ['occurred', 'recorded'] as const;
const TIME = 'occurred: business time (default); recorded: server time';

@ParameterDto('query')
export class HistoryQueryDto {
  @ApiPropertyOptional({
    description: 'only these event types, comma-separated',
    example: 'DocumentRegistered,DeadlineBreached',
  })
  @IsOptional()
  @Checked(
    (value) => {
      const unknown = unknownTypes(value);
      return value.length > 2000
        ? `has ${value.length} characters`
        : unknown.length
          ? `unknown event type(s) ${unknown.join(', ').slice(0, 300)}`
          : null;
    },
    `comma-separated event types: ${[...EVENT_TYPE_NAMES, ...SYSTEM_EVENT_TYPE_NAMES].join(', ')}`,
  )
  type?: string;

  @ApiPropertyOptional({ enum: TIME_AXES, description: TIME })
  @IsOptional()
  @OneOf(TIME_AXES, 'a time axis')
  time?: (typeof TIME_AXES)[number];

  @ApiPropertyOptional({
    description: `events at or after this instant with its offset, or from the start of this date (${DATE_ZONE_NOTE}), on the time axis`,
    example: '2015-09-01T00:00:00+06:00',
  })
  @IsOptional()
  @DateOrInstant()
  from?: string;

  @ApiPropertyOptional({
    description: `events at or before this instant with its offset, or to the end of this date (${DATE_ZONE_NOTE}), on the time axis`,
    example: '2015-12-31',
  })
  @IsOptional()
  @DateOrInstant()
  @NotBeforeFrom()
  to?: string;

  @ExportFormatParameter()
  format?: ExportFormat;

  @ExportLanguageParameter()
  lang?: ExportLanguage;
}

@ParameterDto('query')
export class StateQueryDto {
  @ApiPropertyOptional({
    description: `the case as it stood at this instant with its offset, or at the end of this date (${DATE_ZONE_NOTE}); default now`,
    example: '2015-10-01T12:00:00+06:00',
  })
  @IsOptional()
  @DateOrInstant()
  asOf?: string;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'the case as it stood after this revision (not with asOf)',
    example: 2,
  })
  @IsOptional()
  @WholeNumber(0, Number.MAX_SAFE_INTEGER)
  atRevision?: number;

  @ApiPropertyOptional({ enum: TIME_AXES, description: TIME })
  @IsOptional()
  @OneOf(TIME_AXES, 'a time axis')
  time?: (typeof TIME_AXES)[number];
}

@ParameterDto('query')
export class ExplainQueryDto {
  @ApiPropertyOptional({
    description: `the instant the deadlines are explained at, with its offset, or the end of this date (${DATE_ZONE_NOTE}); not before the submission; default now`,
    example: '2015-10-01T12:00:00+06:00',
  })
  @IsOptional()
  @DateOrInstant()
  asOf?: string;
}
