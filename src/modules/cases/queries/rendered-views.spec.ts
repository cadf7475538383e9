import { RenderedViews } from './rendered-views';

const b = (text: string) => Buffer.from(text);
const text = (json: Buffer | null) => json?.toString() ?? null;
const at = (json: Buffer, position: number) => Buffer.concat([json, Buffer.from(`@${position}`)]);

describe('views kept rendered', () => {
  it('serves a view only for the document version it was rendered from, and before the instant it stops standing', () => {
    const views = new RenderedViews(1_000);
    views.put('case-1\nhead', 7, 'm1', 1_000, b('{"a":1'), 5, at);
    expect(text(views.answer('case-1\nhead', 7, 'm1', 999, 5, at))).toBe('{"a":1@5');
    expect(views.answer('case-1\nhead', 8, 'm1', 999, 5, at)).toBeNull();
    expect(views.answer('case-1\nhead', 7, 'm1', 1_000, 5, at)).toBeNull();
    expect(views.answer('case-1\nclerk', 7, 'm1', 0, 5, at)).toBeNull();
    expect(views.stats()).toMatchObject({ hits: 1, misses: 3, entries: 1, bytes: 8 });
    // The same answer again at the same position; at another, the kept text with that position.
    const first = views.answer('case-1\nhead', 7, 'm1', 999, 5, at);
    expect(views.answer('case-1\nhead', 7, 'm1', 999, 5, at)).toBe(first);
    expect(text(views.answer('case-1\nhead', 7, 'm1', 999, 6, at))).toBe('{"a":1@6');
  });

  it("serves a view without its document's version while the store's change mark is the one it was last confirmed at", () => {
    const views = new RenderedViews(1_000);
    views.put('case-1\nhead', 7, 'm1', 1_000, b('{"a":1'), 5, at);
    expect(text(views.unchangedSince('case-1\nhead', 'm1', 999, 5, at))).toBe('{"a":1@5');
    // The store changed: the version must be asked again; once it is found the same, the new mark stands.
    expect(views.unchangedSince('case-1\nhead', 'm2', 999, 5, at)).toBeNull();
    expect(text(views.answer('case-1\nhead', 7, 'm2', 999, 5, at))).toBe('{"a":1@5');
    expect(text(views.unchangedSince('case-1\nhead', 'm2', 999, 5, at))).toBe('{"a":1@5');
    expect(views.unchangedSince('case-1\nhead', 'm1', 999, 5, at)).toBeNull();
    // Neither past the instant the view stops standing, nor where the store has no change mark.
    expect(views.unchangedSince('case-1\nhead', 'm2', 1_000, 5, at)).toBeNull();
    views.put('case-2\nhead', 1, null, 1_000, b('{"b":1'), 5, at);
    expect(views.unchangedSince('case-2\nhead', null, 0, 5, at)).toBeNull();
    expect(views.stats()).toMatchObject({ hits: 3, misses: 0 });
  });

  it('keeps within its budget, letting the least recently read go first', () => {
    const views = new RenderedViews(14);
    views.put('a', 1, 'm', Infinity, b('aaaa'), 5, at);
    views.put('b', 1, 'm', Infinity, b('bbbb'), 5, at);
    expect(text(views.answer('a', 1, 'm', 0, 5, at))).toBe('aaaa@5');
    views.put('c', 1, 'm', Infinity, b('cccc'), 5, at);
    expect(
      [
        views.answer('a', 1, 'm', 0, 5, at),
        views.answer('b', 1, 'm', 0, 5, at),
        views.answer('c', 1, 'm', 0, 5, at),
      ].map(text),
    ).toEqual(['aaaa@5', null, 'cccc@5']);
    // A newer rendering replaces the older one of the same key; a text over the whole budget is not kept.
    views.put('a', 2, 'm', Infinity, b('AAAAA'), 5, at);
    views.put('d', 1, 'm', Infinity, b('x'.repeat(13)), 5, at);
    expect(views.stats()).toMatchObject({ entries: 2, bytes: 13 });
    expect(text(views.answer('a', 2, 'm', 0, 5, at))).toBe('AAAAA@5');
    expect(views.answer('d', 1, 'm', 0, 5, at)).toBeNull();
  });
});
