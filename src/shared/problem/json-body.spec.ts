import { duplicateKey, parseJsonBody } from './json-body';

describe('duplicateKey: a member named twice in one object (I-JSON, RFC 7493 §2.3)', () => {
  it.each([
    ['{"a":1,"a":2}', 'a', 'a'],
    ['{"a":{"b":1,"c":[{"d":1},{"d":2,"e":3,"d":4}]}}', 'd', 'a.c.1.d'],
    ['[1,{"x":1},[{"y":1,"y":2}]]', 'y', '2.0.y'],
    // The same name spelt with an escape.
    ['{"iin":"1","\\u0069in":"2"}', 'iin', 'iin'],
    ['{"a" : 1 ,\n "b":{}, "a" : 2}', 'a', 'a'],
  ])('%s names %s at %s', (text, key, path) => {
    expect(JSON.parse(text)).toBeDefined();
    expect(duplicateKey(text)).toEqual({ key, path });
  });

  it.each([
    '{"a":1,"b":2}',
    // The same name in sibling objects, and as a string value: no member is repeated.
    '[{"a":1},{"a":2}]',
    '{"a":{"a":{"a":"a"}}}',
    '{"a":"a","b":["a","a"]}',
    // Strings holding what would be structure, quotes and escapes included.
    '{"a":"{\\"a\\":1,\\"a\\":2}","b":"\\\\","c":"]},{","d":"\\"a\\""}',
    '{}',
    '[]',
    '"text"',
    '12',
  ])('%s names none', (text) => {
    expect(JSON.parse(text)).toBeDefined();
    expect(duplicateKey(text)).toBeNull();
  });

  it('walks a body nested far deeper than the stack would allow', () => {
    const depth = 200_000;
    expect(duplicateKey('['.repeat(depth) + '{"a":1,"a":2}' + ']'.repeat(depth))).toEqual({
      key: 'a',
      path: `${'0.'.repeat(depth)}a`,
    });
  });
});

describe('parseJsonBody refuses what I-JSON forbids, naming where', () => {
  const refusal = (text: string) => {
    const parsed = parseJsonBody(text);
    if (parsed.ok) throw new Error(`${text} was taken`);
    return { code: parsed.problem.code, errors: parsed.problem.errors };
  };

  it('a field named twice: JSON.parse would keep the last, another reader the first', () => {
    expect(refusal('{"applicant":{"iin":"870707400012","fullName":"А","iin":"850315300772"}}')).toEqual({
      code: 'duplicate-key',
      errors: [
        {
          field: 'body',
          problem: 'names the field "iin" twice (at applicant.iin)',
          allowed: expect.stringMatching(/I-JSON \(RFC 7493\).*named once/),
        },
      ],
    });
  });

  it.each([
    ['{"reason":"a\\ud800b"}', 'reason'],
    ['{"notes":["ok","\\uDC00"]}', 'notes.1'],
    ['{"a":{"\\ud83d":1}}', 'a.\\uD83D'],
  ])('%s: half a surrogate pair, at %s', (text, path) => {
    expect(refusal(text)).toEqual({
      code: 'lone-surrogate',
      errors: [
        {
          field: 'body',
          problem: `holds a \\u escape of half a surrogate pair without its other half (at ${path})`,
          allowed: expect.stringMatching(/I-JSON \(RFC 7493\)/),
        },
      ],
    });
  });

  it('takes a pair written as two escapes, and text with any characters', () => {
    for (const text of ['{"a":"\\ud83d\\ude00"}', '{"a":"😀 Әлем \\u00e9"}', '{"a":"\\\\ud800"}'])
      expect(parseJsonBody(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });
});
