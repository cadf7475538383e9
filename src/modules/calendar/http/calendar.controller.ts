import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ProblemError } from '../../../shared/problem/problem';
import { parseInstantParam, parseIntegerParam, parseLocalDateParam, type ParamError } from '../../../shared/http/query-params';
import { computeDeadline } from '../../deadlines/domain/compute-deadline';
import { CalendarRangeError, type WorkingCalendar } from '../domain/working-calendar';

export const CALENDARS = Symbol('CALENDARS');

/** The most working days a deadline query may ask for (about four years). */
export const MAX_WORKING_DAYS = 1000;

@ApiTags('calendar')
@Controller('api/calendar')
export class CalendarController {
  constructor(@Inject(CALENDARS) private readonly calendars: ReadonlyMap<string, WorkingCalendar>) {}

  @Get(':code/working-days')
  @ApiOperation({ summary: 'Working days between two dates (both inclusive), with every non-working day, why, and its source' })
  @ApiParam({ name: 'code', example: 'KZ' })
  @ApiQuery({ name: 'from', example: '2024-05-01' })
  @ApiQuery({ name: 'to', example: '2024-05-31' })
  workingDays(@Param('code') code: string, @Query('from') fromParam?: string, @Query('to') toParam?: string) {
    const errors: ParamError[] = [];
    const calendar = this.calendar(code, errors);
    const from = parseLocalDateParam('query.from', fromParam);
    const to = parseLocalDateParam('query.to', toParam);
    if (!from.ok) errors.push(from.error);
    if (!to.ok) errors.push(to.error);
    if (from.ok && to.ok && to.value < from.value) errors.push({ field: 'query.to', problem: `${to.value} is before from (${from.value})`, allowed: `a date on or after ${from.value}` });
    if (calendar) {
      const allowed = `a date from ${calendar.coveredFrom} to ${calendar.coveredUntil}`;
      if (from.ok && !calendar.covers(from.value)) errors.push({ field: 'query.from', problem: `${from.value} is outside the ${calendar.code} calendar`, allowed });
      if (to.ok && !calendar.covers(to.value)) errors.push({ field: 'query.to', problem: `${to.value} is outside the ${calendar.code} calendar`, allowed });
    }
    if (errors.length > 0 || !calendar || !from.ok || !to.ok) throw ProblemError.badRequest(errors);
    return {
      calendar: calendar.code,
      from: from.value,
      to: to.value,
      workingDays: calendar.countWorkingDays(from.value, to.value),
      nonWorkingDays: calendar.nonWorkingDays(from.value, to.value).map((d) => ({
        date: d.date,
        kind: d.kind,
        name: d.name,
        names: d.names,
        source: d.source,
        ...(d.relatedDate ? { relatedDate: d.relatedDate } : {}),
      })),
      ...(calendar.isProvisional(to.value) ? { provisional: true, provisionalFrom: calendar.provisionalFrom } : {}),
    };
  }

  @Get(':code/deadline')
  @ApiOperation({ summary: 'The deadline N working days after an instant (Civil Code art. 171–173), with a day-by-day explanation' })
  @ApiParam({ name: 'code', example: 'KZ' })
  @ApiQuery({ name: 'start', example: '2024-05-03T10:00:00+05:00' })
  @ApiQuery({ name: 'workingDays', example: '3' })
  deadline(@Param('code') code: string, @Query('start') startParam?: string, @Query('workingDays') daysParam?: string) {
    const errors: ParamError[] = [];
    const calendar = this.calendar(code, errors);
    const start = parseInstantParam('query.start', startParam);
    const days = parseIntegerParam('query.workingDays', daysParam, 0, MAX_WORKING_DAYS);
    if (!start.ok) errors.push(start.error);
    if (!days.ok) errors.push(days.error);
    if (calendar && start.ok) {
      const local = calendar.timeZone.toLocal(start.value).date;
      if (!calendar.covers(local)) {
        errors.push({ field: 'query.start', problem: `${local} (local date) is outside the ${calendar.code} calendar`, allowed: `an instant from ${calendar.coveredFrom} to ${calendar.coveredUntil}` });
      }
    }
    if (errors.length > 0 || !calendar || !start.ok || !days.ok) throw ProblemError.badRequest(errors);
    try {
      const result = computeDeadline({ kind: 'working-days', days: days.value }, start.value, calendar);
      return { calendar: calendar.code, start: start.value.toISOString(), workingDays: days.value, deadline: result.deadline!.toISOString(), explanation: result.explanation };
    } catch (error) {
      if (error instanceof CalendarRangeError) {
        throw ProblemError.badRequest([
          { field: 'query.workingDays', problem: `the deadline would fall after ${calendar.coveredUntil}, the last day of the ${calendar.code} calendar`, allowed: 'fewer working days' },
        ]);
      }
      throw error;
    }
  }

  private calendar(code: string, errors: ParamError[]): WorkingCalendar | undefined {
    const calendar = this.calendars.get(code);
    if (!calendar) errors.push({ field: 'path.code', problem: `unknown calendar "${code}"`, allowed: [...this.calendars.keys()].join(', ') });
    return calendar;
  }
}
