import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ProblemError, type ProblemFieldError } from '../../../shared/problem/problem';
import { ApiPathAndQuery, PathAndQuery } from '../../../shared/problem/validation';
import {
  CalendarPathDto,
  DeadlineDto,
  DeadlineQueryDto,
  MAX_WORKING_DAYS,
  WorkingDaysDto,
  WorkingDaysQueryDto,
} from './calendar.dtos';
import { computeDeadline } from '../../deadlines/domain/compute-deadline';
import { CalendarRangeError, type WorkingCalendar } from '../domain/working-calendar';

export const CALENDARS = Symbol('CALENDARS');

export { MAX_WORKING_DAYS };
type ParamError = ProblemFieldError;
const WORKING_DAYS = { path: CalendarPathDto, query: WorkingDaysQueryDto };
const DEADLINE = { path: CalendarPathDto, query: DeadlineQueryDto };

@ApiTags('calendar')
@Controller('api/calendar')
export class CalendarController {
  constructor(@Inject(CALENDARS) private readonly calendars: ReadonlyMap<string, WorkingCalendar>) {}

  @Get(':code/working-days')
  @ApiOperation({
    summary: 'Working days between two dates (both inclusive), with every non-working day, why, and its source',
  })
  @ApiPathAndQuery(WORKING_DAYS)
  @ApiOkResponse({ type: WorkingDaysDto, description: 'The count and every non-working day of the range' })
  workingDays(@PathAndQuery(WORKING_DAYS) input: { path: CalendarPathDto; query: WorkingDaysQueryDto }) {
    const errors: ParamError[] = [];
    const calendar = this.calendar(input.path.code, errors);
    // The form was checked at the edge; what is left depends on the calendar.
    const from = input.query.from;
    const to = input.query.to;
    if (to < from)
      errors.push({
        field: 'query.to',
        problem: `${to} is before from (${from})`,
        allowed: `a date on or after ${from}`,
      });
    if (calendar) {
      const allowed = `a date from ${calendar.coveredFrom} to ${calendar.coveredUntil}`;
      if (!calendar.covers(from))
        errors.push({ field: 'query.from', problem: `${from} is outside the ${calendar.code} calendar`, allowed });
      if (!calendar.covers(to))
        errors.push({ field: 'query.to', problem: `${to} is outside the ${calendar.code} calendar`, allowed });
    }
    if (errors.length > 0 || !calendar) throw ProblemError.badRequest(errors);
    return {
      calendar: calendar.code,
      from: from,
      to: to,
      workingDays: calendar.countWorkingDays(from, to),
      nonWorkingDays: calendar.nonWorkingDays(from, to).map((d) => ({
        date: d.date,
        kind: d.kind,
        name: d.name,
        names: d.names,
        source: d.source,
        ...(d.relatedDate ? { relatedDate: d.relatedDate } : {}),
      })),
      ...(calendar.isProvisional(to) ? { provisional: true, provisionalFrom: calendar.provisionalFrom } : {}),
    };
  }

  @Get(':code/deadline')
  @ApiOperation({
    summary: 'The deadline N working days after an instant (Civil Code art. 171–173), with a day-by-day explanation',
  })
  @ApiPathAndQuery(DEADLINE)
  @ApiOkResponse({ type: DeadlineDto, description: 'The deadline and how it was counted' })
  deadline(@PathAndQuery(DEADLINE) input: { path: CalendarPathDto; query: DeadlineQueryDto }) {
    const errors: ParamError[] = [];
    const calendar = this.calendar(input.path.code, errors);
    const start = new Date(input.query.start);
    const days = input.query.workingDays;
    if (calendar) {
      const local = calendar.timeZone.toLocal(start).date;
      if (!calendar.covers(local)) {
        errors.push({
          field: 'query.start',
          problem: `${local} (local date) is outside the ${calendar.code} calendar`,
          allowed: `an instant from ${calendar.coveredFrom} to ${calendar.coveredUntil}`,
        });
      }
    }
    if (errors.length > 0 || !calendar) throw ProblemError.badRequest(errors);
    try {
      const result = computeDeadline({ kind: 'working-days', days: days }, start, calendar);
      return {
        calendar: calendar.code,
        start: start.toISOString(),
        workingDays: days,
        deadline: result.deadline!.toISOString(),
        explanation: result.explanation,
      };
    } catch (error) {
      if (error instanceof CalendarRangeError) {
        throw ProblemError.badRequest([
          {
            field: 'query.workingDays',
            problem: `the deadline would fall after ${calendar.coveredUntil}, the last day of the ${calendar.code} calendar`,
            allowed: 'fewer working days',
          },
        ]);
      }
      throw error;
    }
  }

  private calendar(code: string, errors: ParamError[]): WorkingCalendar | undefined {
    const calendar = this.calendars.get(code);
    if (!calendar)
      errors.push({
        field: 'path.code',
        problem: `unknown calendar "${code}"`,
        allowed: [...this.calendars.keys()].join(', '),
      });
    return calendar;
  }
}
