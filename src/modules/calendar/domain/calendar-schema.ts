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
  if (!/^\d{2}-\d{2}$/.test(value) || problem)
    ctx.addIssue({ code: 'custom', message: 'must be a month and day written MM-DD' });
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
    dates: z
      .record(z.string().regex(/^\d{4}$/, 'must be a year'), z.strictObject({ date: localDate, source }))
      .optional(),
    movesWhenOnWeekend: z.boolean(),
    validFrom: localDate.optional(),
    validUntil: localDate.optional(),
    source,
  })
  .refine((h) => (h.days ? 1 : 0) + (h.dates ? 1 : 0) === 1, {
    message: 'needs exactly one of `days` (every year) or `dates` (per year)',
  });

/** `confirmed: false` marks what no source we trust bears out; the note then says what is missing. */
const unconfirmedNeedsNote = (entry: { confirmed?: boolean; note?: string }) =>
  entry.confirmed !== false || entry.note !== undefined;
const UNCONFIRMED_NEEDS_NOTE = {
  message: 'is marked `confirmed: false` without a `note` saying what could not be confirmed',
  path: ['note'],
};
const note = z.string().min(10, 'must say what is known and what is not');

const transfer = z
  .strictObject({
    workingDay: localDate,
    dayOff: localDate,
    act: z.string().min(3),
    source,
    confirmed: z.boolean().optional(),
    note: note.optional(),
  })
  .refine(unconfirmedNeedsNote, UNCONFIRMED_NEEDS_NOTE);

const monthNumber = z.string().regex(/^(1[0-2]|[1-9])$/, 'must be a month number 1-12');

/** What is known of one month's figure, where it is not simply the year's `source`. */
const productionMonth = z
  .strictObject({
    confirmed: z.boolean().optional(),
    source: source.optional(),
    /** A figure published for the month that the calendar does not follow; `note` says why. */
    published: z.number().int().min(0).max(31).optional(),
    note: note.optional(),
  })
  .refine(unconfirmedNeedsNote, UNCONFIRMED_NEEDS_NOTE)
  .refine((m) => m.published === undefined || m.note !== undefined, {
    message: 'a `published` figure the calendar does not follow needs a `note` saying why',
    path: ['note'],
  });

/**
 * One year of the production calendar (5-day week): the working days of each month, January
 * first, as published or as the sourced holidays and transfers give them. The loader checks that
 * the calendar reproduces every figure.
 */
const productionYear = z
  .strictObject({
    year: z.number().int().min(1000).max(9999),
    workingDays: z.array(z.number().int().min(0).max(31)).length(12, 'must give the 12 months, January first'),
    total: z.number().int().min(0).max(366),
    /** A published yearly total the calendar does not follow; `note` says why. */
    publishedTotal: z.number().int().min(0).max(366).optional(),
    confirmed: z.boolean(),
    source,
    note: note.optional(),
    months: z.record(monthNumber, productionMonth).optional(),
  })
  .refine(unconfirmedNeedsNote, UNCONFIRMED_NEEDS_NOTE)
  .refine((y) => y.publishedTotal === undefined || y.note !== undefined, {
    message: 'a `publishedTotal` the calendar does not follow needs a `note` saying why',
    path: ['note'],
  });

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
  transfers: z.array(transfer),
  productionCalendar: z.array(productionYear).min(1),
});

export type CalendarFile = z.infer<typeof calendarFileSchema>;
export type HolidayEntry = CalendarFile['holidays'][number];
export type ProductionYear = CalendarFile['productionCalendar'][number];
