/** The query parameters of the auditors' reads as DTO classes (validated by the pipe, read by swagger). */
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, ValidateBy, type ValidationArguments } from 'class-validator';
import { EVENT_TYPE_NAMES, isEventType } from '../../../events/event-types';
import { isSystemEventType, SYSTEM_EVENT_TYPE_NAMES } from '../../../events/system-event-types';
import { ParameterDto } from '../../../shared/problem/validation';
import { ExportFormatParameter, ExportLanguageParameter, type ExportFormat, type ExportLanguage } from '../../../shared/http/table-export';
import { Checked, Instant, instantProblem, OneOf, WholeNumber } from '../../../shared/http/parameter-constraints';

const unknownTypes = (value: string) => value.split(',').map((t) => t.trim()).filter((t) => !isEventType(t) && !isSystemEventType(t));

/** Not before the instant in `from` of the same query (when both are instants; each checks its own form). */
const NotBeforeFrom = (): PropertyDecorator =>
  ValidateBy(
    {
      name: 'notBeforeFrom',
      validator: {
        validate: (value: unknown, args?: ValidationArguments) => {
          const from = (args?.object as { from?: unknown }).from;
          if (typeof value !== 'string' || typeof from !== 'string' || instantProblem(value) || instantProblem(from)) return true;
          return Date.parse(value) >= Date.parse(from);
        },
        defaultMessage: (args?: ValidationArguments) => `${String(args?.value)} is before from (${String((args?.object as { from?: unknown }).from)})`,
      },
    },
    { context: { allowed: 'an instant at or after from' } },
  );

const TIME_AXES = ['occurred', 'recorded'] as const;
const TIME = 'occurred: business time (default); recorded: server time';

@ParameterDto('query')
export class HistoryQueryDto {
  @ApiPropertyOptional({ description: 'only these event types, comma-separated', example: 'DocumentRegistered,DeadlineBreached' })
  @IsOptional()
  @Checked((value) => {
    const unknown = unknownTypes(value);
    return value.length > 2000 ? `has ${value.length} characters` : unknown.length ? `unknown event type(s) ${unknown.join(', ').slice(0, 300)}` : null;
  }, `comma-separated event types: ${[...EVENT_TYPE_NAMES, ...SYSTEM_EVENT_TYPE_NAMES].join(', ')}`)
  type?: string;

  @ApiPropertyOptional({ enum: TIME_AXES, description: TIME })
  @IsOptional()
  @OneOf(TIME_AXES, 'a time axis')
  time?: (typeof TIME_AXES)[number];

  @ApiPropertyOptional({ description: 'events at or after this instant (with its offset), on the time axis', example: '2015-09-01T00:00:00+06:00' })
  @IsOptional()
  @Instant()
  from?: string;

  @ApiPropertyOptional({ description: 'events at or before this instant (with its offset), on the time axis', example: '2015-12-31T23:59:59+06:00' })
  @IsOptional()
  @Instant()
  @NotBeforeFrom()
  to?: string;

  @ExportFormatParameter()
  format?: ExportFormat;

  @ExportLanguageParameter()
  lang?: ExportLanguage;
}

@ParameterDto('query')
export class StateQueryDto {
  @ApiPropertyOptional({ description: 'the case as it stood at this instant (with its offset); default now', example: '2015-10-01T12:00:00+06:00' })
  @IsOptional()
  @Instant()
  asOf?: string;

  @ApiPropertyOptional({ type: 'integer', description: 'the case as it stood after this revision (not with asOf)', example: 2 })
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
  @ApiPropertyOptional({ description: 'the instant the deadlines are explained at (with its offset), not before the submission; default now', example: '2015-10-01T12:00:00+06:00' })
  @IsOptional()
  @Instant()
  asOf?: string;
}
