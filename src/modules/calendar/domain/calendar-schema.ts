/** The shape of a calendar file (data/calendars/<code>.yaml), checked at start-up. */
import { z } from 'zod';
import { localDateProblem } from './local-date';
import { parseOffset } from './time-zone';

const localDate = z.string().superRefine((value, ctx) => {
  const problem = localDateProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const monthDay = z.string().superRefine((value, ctx) => {
  const problem = localDateProblem(`2000-${value}`);
  if (!/^\d{2}-\d{2}$/.test(value) || problem) ctx.addIssue({ code: 'custom', message: 'must be a month and day written MM-DD' });
});

const label = z.strictObject({ ru: z.string().min(1), kk: z.string().min(1) });
const source = z.string().min(3, 'must name where the entry comes from');
const instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 instant with an offset' });

const holiday = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be kebab-case'),
    name: label,
    kind: z.enum(['national', 'state', 'religious']),
    days: z.array(monthDay).min(1).optional(),
    dates: z.record(z.string().regex(/^\d{4}$/, 'must be a year'), z.strictObject({ date: localDate, source })).optional(),
    movesWhenOnWeekend: z.boolean(),
    validFrom: localDate.optional(),
    validUntil: localDate.optional(),
    source,
  })
  .refine((h) => (h.days ? 1 : 0) + (h.dates ? 1 : 0) === 1, { message: 'needs exactly one of `days` (every year) or `dates` (per year)' });

export const calendarFileSchema = z.strictObject({
  code: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 country code such as KZ'),
  name: label,
  weekend: z.array(z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])).min(1),
  covers: z.strictObject({ from: localDate, until: localDate, provisionalFrom: localDate.optional() }),
  timeZone: z.strictObject({
    id: z.string().min(1),
    offsets: z
      .array(
        z.strictObject({
          from: instant.optional(),
          until: instant.optional(),
          utcOffset: z.string().refine((v) => parseOffset(v) !== null, 'must be an offset written +HH:MM'),
        }),
      )
      .min(1),
    source,
  }),
  rules: z.strictObject({
    weekend: z.strictObject({ text: z.string().min(1), source }),
    weekendHoliday: z.strictObject({ text: z.string().min(1), source }),
    transfers: z.strictObject({ text: z.string().min(1), source }),
  }),
  holidays: z.array(holiday).min(1),
  transfers: z.array(z.strictObject({ workingDay: localDate, dayOff: localDate, act: z.string().min(3), source })),
  production: z.array(
    z.strictObject({
      year: z.number().int(),
      /** January first; null where the official figure was not found. */
      months: z.array(z.number().int().min(0).max(31).nullable()).length(12),
      total: z.number().int().nullable(),
      source,
      /** What the calendar gives instead, where it follows what happened rather than the table. */
      differs: z
        .strictObject({
          months: z.record(z.string().regex(/^(1[0-2]|[1-9])$/, 'must be a month number 1-12'), z.number().int()).optional(),
          total: z.number().int().optional(),
          reason: z.string().min(10, 'must say what happened and why the calendar differs'),
        })
        .optional(),
    }),
  ),
});

export type CalendarFile = z.infer<typeof calendarFileSchema>;
export type HolidayEntry = CalendarFile['holidays'][number];
