/**
 * The shape of a regulation file (data/regulations/<service>.<act>.yaml), checked at start-up.
 * Limits use the shapes of deadlines/domain/limit.ts; `satisfies` below keeps the two in step.
 */
import { z } from 'zod';
import { localDateProblem } from '../../calendar/domain/local-date';
import type { AnnualDay, ClauseRef, Limit, LimitSpec } from '../../deadlines/domain/limit';

const kebab = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be kebab-case (a-z, 0-9, single hyphens)');
const localDate = z.string().superRefine((value, ctx) => {
  const problem = localDateProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * Where a Kazakh label comes from: `act`, the words of the act's own Kazakh text; `translation`, a working
 * translation (order 184 has no Kazakh text in the seeds), to be checked against the official Kazakh text.
 */
export const LABEL_SOURCES = ['act', 'translation'] as const;

/** A user-facing label; a missing translation is allowed only when marked (lint counts it as an error). */
export const labelSchema = z
  .strictObject({
    ru: z.string().min(1).nullable(),
    kk: z.string().min(1).nullable(),
    kkSource: z.enum(LABEL_SOURCES).optional(),
    ruNeedsTranslation: z.boolean().optional(),
    kkNeedsTranslation: z.boolean().optional(),
  })
  .superRefine((label, ctx) => {
    // Said for every Kazakh label, so a reviewer finds each working translation and no label passes for the act's words by default.
    if (label.kk !== null && !label.kkSource)
      ctx.addIssue({
        code: 'custom',
        path: ['kkSource'],
        message: `is missing: say where the Kazakh label comes from (${LABEL_SOURCES.join(' | ')})`,
      });
    if (label.kk === null && label.kkSource)
      ctx.addIssue({ code: 'custom', path: ['kkSource'], message: 'is given for a Kazakh label that is missing' });
    if (label.kk !== null && label.kkNeedsTranslation)
      ctx.addIssue({
        code: 'custom',
        path: ['kkNeedsTranslation'],
        message: 'is set on a label that has its Kazakh text; drop it',
      });
    if (label.ru === null && !label.ruNeedsTranslation)
      ctx.addIssue({
        code: 'custom',
        path: ['ru'],
        message: 'is missing: give the Russian label or mark ruNeedsTranslation: true',
      });
    if (label.kk === null && !label.kkNeedsTranslation)
      ctx.addIssue({
        code: 'custom',
        path: ['kk'],
        message: 'is missing: give the Kazakh label or mark kkNeedsTranslation: true',
      });
    if (label.ru === null && label.kk === null)
      ctx.addIssue({ code: 'custom', message: 'needs at least one of ru or kk' });
  });

export const clauseSchema = z.strictObject({
  act: kebab,
  appendix: z.number().int().positive().optional(),
  paragraph: z.number().int().positive(),
  subparagraph: z.number().int().positive().optional(),
  track: kebab.optional(),
  quote: z.string().min(1).optional(),
}) satisfies z.ZodType<ClauseRef>;

const weekday = z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']);
const annualDay = z.union([
  z.strictObject({
    monthDay: z
      .string()
      .refine(
        (v) => /^\d{2}-\d{2}$/.test(v) && localDateProblem(`2000-${v}`) === null,
        'must be a month and day written MM-DD',
      ),
  }),
  z.strictObject({
    nth: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(-1)]),
    weekday,
    month: z.number().int().min(1).max(12),
  }),
]) satisfies z.ZodType<AnnualDay>;

export const limitSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('minutes'), minutes: z.number().int().positive() }),
  z.strictObject({ kind: z.literal('working-days'), days: z.number().int().min(0).max(365) }),
  z
    .strictObject({
      kind: z.literal('calendar-period'),
      months: z.number().int().positive().optional(),
      days: z.number().int().positive().optional(),
    })
    .refine((s) => s.months !== undefined || s.days !== undefined, 'needs months or days'),
  z.strictObject({
    kind: z.literal('annual-window'),
    from: annualDay.optional(),
    until: annualDay,
    untilTime: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day HH:MM')
      .optional(),
    untilMovesToWorkingDay: z.literal(true).optional(),
  }),
  z.strictObject({ kind: z.literal('by-programme'), maxMonths: z.number().int().positive().optional() }),
  z.strictObject({ kind: z.literal('working-days-before'), days: z.number().int().min(1).max(365) }),
]) satisfies z.ZodType<LimitSpec>;

const anchorSchema = z.union([
  z.strictObject({ step: kebab }),
  z.strictObject({ stepStarted: kebab }),
  z.strictObject({ cohortDate: kebab }),
  z.strictObject({
    stepDataDate: z.strictObject({
      step: kebab,
      field: z.string().regex(/^[a-zA-Z]+$/, 'must be a field name of the event data'),
    }),
  }),
]);

/**
 * The act that makes a conditional step due: a step done (`done`), or done with a positive or negative outcome (a
 * failed test or exam, a non-compliant review, a non-admission, a group formed without the applicant).
 */
export const dueWhenSchema = z
  .array(z.strictObject({ step: kebab, outcome: z.enum(['done', 'positive', 'negative']).default('done') }))
  .min(1);
export type DueWhen = z.infer<typeof dueWhenSchema>;

export const limitSchema = z.strictObject({
  id: kebab,
  spec: limitSpecSchema,
  anchor: anchorSchema,
  clause: clauseSchema,
  channels: z.array(kebab).min(1).optional(),
  /** The other reading; `anchor` where it counts from another start than the reading applied. */
  alternative: z
    .strictObject({ spec: limitSpecSchema, clause: clauseSchema, anchor: anchorSchema.optional() })
    .optional(),
  appliedReason: z.string().min(10, 'must say why this reading is applied').optional(),
}) satisfies z.ZodType<Limit>;

const act = z.strictObject({ id: kebab, title: z.string().min(1), number: z.string().min(1), date: localDate });

export const regulationFileSchema = z.strictObject({
  serviceId: kebab,
  versionId: z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, 'must be <service-id>/<act-id>'),
  title: labelSchema,
  act: act.extend({
    registration: z.strictObject({ number: z.string().min(1), date: localDate.optional() }).nullable(),
    appendix: z.number().int().positive(),
    amends: z
      .strictObject({
        id: kebab,
        number: z.string().min(1),
        date: localDate,
        registration: z.strictObject({ number: z.string().min(1), date: localDate.optional() }).optional(),
        title: z.string().optional(),
      })
      .nullable(),
  }),
  effective: z.strictObject({
    from: localDate,
    until: localDate.nullable(),
    reading: z.string().min(10, 'must state how the dates were read from the act'),
    source: z.string().min(3),
  }),
  repealedBy: z
    .strictObject({
      id: kebab,
      title: z.string().min(1),
      date: localDate,
      note: z.string().optional(),
      effectiveFrom: localDate.optional(),
    })
    .nullable(),
  /**
   * How long the personal data of a case closed under this version is kept before it is due for erasure (law No.
   * 94-V of 21 May 2013 "On personal data and their protection": kept no longer than the purpose of collecting them
   * requires). Absent: the service default (DEFAULT_PERSONAL_DATA_RETENTION, a setting, not a legal figure).
   * `basis` says where the period comes from; a period the act itself does not fix must say it is a setting.
   */
  personalDataRetention: z
    .strictObject({ years: z.number().int().min(0).max(100), basis: z.string().min(3) })
    .optional(),
  provider: labelSchema,
  channels: z.array(z.strictObject({ id: kebab, label: labelSchema, clause: clauseSchema })).min(1),
  forms: z.array(z.enum(['electronic', 'paper'])).min(1),
  tracks: z.array(z.strictObject({ id: kebab, label: labelSchema, clause: clauseSchema })).min(1),
  results: z
    .array(
      z.strictObject({
        id: kebab,
        label: labelSchema,
        tracks: z.array(kebab).min(1),
        clause: clauseSchema,
        kind: z.enum(['positive', 'negative']),
        /** The service refused (the portal's message, p.10 process 5), not one of the results the service gives (p.3). */
        refusal: z.boolean().default(false),
        note: z.string().optional(),
      }),
    )
    .min(1),
  roles: z.array(z.strictObject({ id: kebab, label: labelSchema, clause: clauseSchema })).min(1),
  steps: z
    .array(
      z.strictObject({
        id: kebab,
        label: labelSchema,
        roles: z.array(kebab).min(1),
        /**
         * Who performs the step on each track, when a step shared by tracks is given to different roles on
         * each (order 58 p.7: the technical secretary on one track, an Institute employee on the other).
         * Names every track of the step; `roles` is then the union, for readers that list who ever acts.
         */
        rolesByTrack: z.record(kebab, z.array(kebab).min(1)).optional(),
        requiresAll: z.boolean().default(false),
        eventType: z.string().min(1),
        after: z.array(kebab),
        tracks: z.array(kebab).min(1),
        optional: z.boolean().default(false),
        /** May be recorded again (each occurrence an act) until a step that follows it is done. */
        repeatable: z.boolean().default(false),
        condition: z.string().nullable().default(null),
        /**
         * When the step becomes due. An optional step's limits count only once one of these acts happened; a step
         * that is not optional is skipped (its limits not applicable) once every one of them went the other way.
         */
        dueWhen: dueWhenSchema.optional(),
        /**
         * Steps this one waits for: it may not be taken while one of them is due and not done (the non-admission while a
         * filed appeal awaits its answer). A step here that never becomes due in the case does not hold it.
         */
        waitsFor: z.array(kebab).optional(),
        /**
         * Steps that end this one's chance: it may be recorded only until one of them is done (the portal's refusal
         * answers the filing, p.10 pp.7-8, and is no longer given once the provider took the case up).
         */
        until: z.array(kebab).optional(),
        /**
         * The period the step has its place in: a limit of another step (or its own) whose deadline ends this one's
         * chance (an appeal only while the appeal commission works, order 184, appendix 3, p.7 pp.3). An act at or
         * after that deadline is refused (422 period-ended), naming the limit's clause and the period's end.
         */
        withinPeriod: z.strictObject({ step: kebab, limit: kebab }).optional(),
        terminal: z.boolean().default(false),
        result: kebab.optional(),
        /**
         * The cohort date this step records after the filing (its act is CohortDateRecorded): a date that starts a
         * clock and that a filing by the applicant or the portal cannot set (the end of document acceptance).
         */
        setsCohortDate: kebab.optional(),
        clause: clauseSchema,
        limits: z.array(limitSchema),
        note: z.string().optional(),
      }),
    )
    .min(1),
  intakeWindows: z
    .array(
      z.strictObject({
        id: kebab,
        tracks: z.array(kebab).min(1),
        spec: limitSpecSchema,
        clause: clauseSchema,
        note: z.string().optional(),
      }),
    )
    .default([]),
  cohortDates: z
    .array(
      z.strictObject({
        id: kebab,
        label: labelSchema,
        clause: clauseSchema,
        note: z.string().optional(),
        /**
         * A clock counted from the date starts no earlier than the filing's own local date (the end of a round's
         * document acceptance: a filing made after it, late, is reviewed from its own day). An earlier date is
         * recorded as given.
         */
        notBeforeFiling: z.boolean().optional(),
      }),
    )
    .default([]),
  notes: z.array(z.string()).default([]),
});

export type RegulationFile = z.infer<typeof regulationFileSchema>;
export type RegulationStep = RegulationFile['steps'][number];

/** The roles that perform a step on a track: the track's own list where the file gives one, else the step's. */
export function rolesOn(step: Pick<RegulationStep, 'roles' | 'rolesByTrack'>, trackId: string): string[] {
  return step.rolesByTrack?.[trackId] ?? step.roles;
}
