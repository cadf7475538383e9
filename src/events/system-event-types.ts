/**
 * Facts the system records itself, beside the regulatory acts people do (which stay in event-types.ts and only
 * there: no regulation step may name one of these). Labels are shown to users in Russian and Kazakh.
 */
import type { EventTypeInfo } from './event-types';

export const SYSTEM_EVENT_TYPES = {
  DeadlineApproaching: {
    ru: 'Срок на исходе',
    kk: 'Мерзімнің өтуіне аз қалды',
    meaning: "A share of a limit's time (e.g. 50 % or 80 %, in its own unit) passed while its step was not done.",
  },
  DeadlineBreached: {
    ru: 'Срок нарушен',
    kk: 'Мерзім бұзылды',
    meaning: "A limit's deadline passed while its step was not done.",
  },
} as const satisfies Record<string, EventTypeInfo>;

export type SystemEventType = keyof typeof SYSTEM_EVENT_TYPES;

export const SYSTEM_EVENT_TYPE_NAMES = Object.keys(SYSTEM_EVENT_TYPES) as SystemEventType[];

export function isSystemEventType(value: string): value is SystemEventType {
  return Object.prototype.hasOwnProperty.call(SYSTEM_EVENT_TYPES, value);
}
