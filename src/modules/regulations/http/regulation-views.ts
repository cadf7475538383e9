/** The JSON views of the catalog served over HTTP: flat, stable, and labelled in ru and kk. */
import { EVENT_TYPES, isEventType } from '../../../events/event-types';
import type { Limit } from '../../deadlines/domain/limit';
import type { RegulationVersion } from '../domain/catalog';
import { readingOf } from '../domain/lint';
import { channelLabel, requestedChannelOf } from '../../cases/domain/channels';

export function versionSummary(version: RegulationVersion) {
  return {
    // One name for the version across answers; versionId stays for existing clients.
    regulationVersionId: version.versionId,
    versionId: version.versionId,
    serviceId: version.serviceId,
    title: version.title,
    act: {
      id: version.act.id,
      title: version.act.title,
      number: version.act.number,
      date: version.act.date,
      registration: version.act.registration,
      appendix: version.act.appendix,
    },
    tracks: version.tracks.map((t) => ({ id: t.id, label: t.label })),
    effective: version.effective,
    repealedBy: version.repealedBy,
  };
}

export function limitView(limit: Limit) {
  const { kind, ...parameters } = limit.spec;
  const reading: 'only' | 'stricter' | 'chosen' = !limit.alternative
    ? 'only'
    : readingOf(limit).rule === 'stricter-applied'
      ? 'stricter'
      : 'chosen';
  return {
    id: limit.id,
    kind,
    ...parameters,
    anchor: limit.anchor,
    clause: limit.clause,
    applied: { reading, ...(limit.appliedReason ? { reason: limit.appliedReason } : {}) },
    ...(limit.alternative
      ? {
          alternative: {
            kind: limit.alternative.spec.kind,
            ...withoutKind(limit.alternative.spec),
            ...(limit.alternative.anchor ? { anchor: limit.alternative.anchor } : {}),
            clause: limit.alternative.clause,
          },
        }
      : {}),
  };
}

export function versionDetail(version: RegulationVersion) {
  const { file: _file, steps, channels, ...rest } = version;
  return {
    regulationVersionId: version.versionId,
    ...rest,
    // The catalog's (the law's) channel ids, each with the command's word that files through it and an English label.
    channels: channels.map((c) => ({
      ...c,
      requestedChannel: requestedChannelOf(c.id),
      label: { ...c.label, en: channelLabel(c.id).en },
    })),
    steps: steps.map((step) => ({
      id: step.id,
      label: step.label,
      eventType: step.eventType,
      eventLabel: isEventType(step.eventType)
        ? { ru: EVENT_TYPES[step.eventType].ru, kk: EVENT_TYPES[step.eventType].kk }
        : null,
      roles: step.roles,
      ...(step.rolesByTrack ? { rolesByTrack: step.rolesByTrack } : {}),
      requiresAll: step.requiresAll,
      after: step.after,
      tracks: step.tracks,
      optional: step.optional,
      condition: step.condition,
      ...(step.dueWhen ? { dueWhen: step.dueWhen } : {}),
      ...(step.waitsFor ? { waitsFor: step.waitsFor } : {}),
      ...(step.until ? { until: step.until } : {}),
      ...(step.withinPeriod ? { withinPeriod: step.withinPeriod } : {}),
      ...(step.setsCohortDate ? { setsCohortDate: step.setsCohortDate } : {}),
      terminal: step.terminal,
      ...(step.result ? { result: step.result } : {}),
      clause: step.clause,
      limits: step.limits.map(limitView),
      ...(step.note ? { note: step.note } : {}),
    })),
  };
}

function withoutKind<T extends { kind: string }>(spec: T): Omit<T, 'kind'> {
  const { kind: _kind, ...rest } = spec;
  return rest;
}
