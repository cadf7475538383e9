import type { Projection } from '../../src/projections/projection';

/** Counts events per stream: a replayed batch would double a count, a lost one would leave it short. */
export const counterProjection: Projection = {
  name: 'counter',
  version: 1,
  eventTypes: '*',
  collections: ['counts'],
  async apply(event, ctx) {
    const doc = await ctx.get<{ _id: string; n: number }>('counts', event.streamId);
    ctx.upsert('counts', { _id: event.streamId, n: (doc?.n ?? 0) + 1 });
  },
};
