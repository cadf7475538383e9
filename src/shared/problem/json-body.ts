import { ProblemError } from './problem';

/** The largest request body the API reads (fastify's `bodyLimit`). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** The one media type request bodies are taken in: commands are JSON objects. */
export const BODY_MEDIA_TYPE = 'application/json';

const AN_OBJECT = 'a JSON object (RFC 8259) with the fields of the endpoint';

function bodyProblem(code: string, title: string, problem: string, allowed: string): ProblemError {
  return new ProblemError(400, code, title, `body: ${problem}`, [{ field: 'body', problem, allowed }]);
}

/** Why JSON.parse refused the text, in our words: where it stopped, without echoing the text back. */
function whyNotJson(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/unexpected end of json input/i.test(message)) return 'it ends before the JSON value is complete';
  const at = /^(.*?) in JSON at position (\d+)/.exec(message);
  if (at) {
    const position = Number(at[2]);
    const before = text.slice(0, position).split('\n');
    const reason = at[1]!.charAt(0).toLowerCase() + at[1]!.slice(1);
    return `${reason} at position ${position} (line ${before.length}, column ${before[before.length - 1]!.length + 1})`;
  }
  const token = /^Unexpected token '(.{1,2})'/u.exec(message);
  if (token) return `unexpected character '${token[1]}'`;
  return message.slice(0, 120);
}

/**
 * The dotted path of the first key of the value, at any depth, for which `matches` answers a path (given the key, its
 * value and the key's own path), or null. Iterative, so no nesting overflows it.
 */
export function firstKeyPath(
  value: unknown,
  matches: (key: string, child: unknown, at: string) => string | null,
): string | null {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    for (const key of Object.keys(current)) {
      const at = path ? `${path}.${key}` : key;
      const child = (current as Record<string, unknown>)[key];
      const found = matches(key, child, at);
      if (found !== null) return found;
      stack.push([child, at]);
    }
  }
  return null;
}

/**
 * The first `__proto__` key, or `constructor` key whose value has a `prototype`: keys that, copied onto an object,
 * change what it inherits (what fastify's JSON parser refused as well).
 */
function prototypeKeyPath(value: unknown): { path: string; key: '__proto__' | 'constructor.prototype' } | null {
  let key: '__proto__' | 'constructor.prototype' = '__proto__';
  const path = firstKeyPath(value, (name, child, at) => {
    if (name === '__proto__') return at;
    if (name !== 'constructor' || child === null || typeof child !== 'object' || !Object.hasOwn(child, 'prototype'))
      return null;
    key = 'constructor.prototype';
    return `${at}.prototype`;
  });
  return path === null ? null : { path, key };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * The first member name an object of the text gives twice, with its dotted path (array items by index), or null.
 * JSON.parse keeps the last of two members of one name (RFC 8259 §4 leaves it to the reader); another reader of the
 * same bytes may keep the first, so an act recorded from such a body would not say one thing to everybody: I-JSON
 * (RFC 7493 §2.3) forbids them. `text` is JSON that JSON.parse accepted, so only strings, brackets and commas are
 * looked at. Iterative, so no nesting overflows it.
 */
export function duplicateKey(text: string): { key: string; path: string } | null {
  interface Frame {
    /** The names seen so far (an object), or null (an array). */
    names: Set<string> | null;
    path: string;
    /** The member or item being read: its name, or its index. */
    at: string | number;
    expectsName: boolean;
  }
  const stack: Frame[] = [];
  let top: Frame | undefined;
  const pathOf = (frame: Frame, name: string | number) => (frame.path ? `${frame.path}.${name}` : String(name));
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      for (let d = text.charCodeAt(end); d !== QUOTE; d = text.charCodeAt(end)) {
        if (d === BACKSLASH) {
          escaped = true;
          end += 2;
        } else end++;
      }
      if (top?.names && top.expectsName) {
        // "a" and "\u0061" name the same member.
        const name = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (top.names.has(name)) return { key: name, path: pathOf(top, name) };
        top.names.add(name);
        top.at = name;
        top.expectsName = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const frame: Frame = {
        names: c === OPEN_OBJECT ? new Set() : null,
        path: top ? pathOf(top, top.at) : '',
        at: 0,
        expectsName: c === OPEN_OBJECT,
      };
      stack.push(frame);
      top = frame;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
      top = stack[stack.length - 1];
    } else if (c === COMMA && top) {
      if (top.names) top.expectsName = true;
      else top.at = (top.at as number) + 1;
    }
  }
  return null;
}

/**
 * A UTF-16 surrogate not part of a pair: what a `\uD800` escape without its partner decodes to. In a `u` pattern a
 * pair is one code point, outside this range.
 */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * The dotted path of the first name or string holding a lone surrogate, or null. Such text is no Unicode: it cannot be
 * written as UTF-8, so a name stored with one is not the name any other system reads back (I-JSON, RFC 7493 §2.1).
 */
function loneSurrogatePath(value: unknown): string | null {
  const lone = (text: string) => LONE_SURROGATE.test(text);
  if (typeof value === 'string') return lone(value) ? '' : null;
  return firstKeyPath(value, (key, child, at) => (lone(key) || (typeof child === 'string' && lone(child)) ? at : null));
}

/** The text with each lone surrogate written as its escape, so a problem naming where one stands carries none. */
function escapedSurrogates(text: string): string {
  return text.replace(/[\uD800-\uDFFF]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const I_JSON = `${AN_OBJECT}, in I-JSON (RFC 7493)`;

/** An `application/json` body with nothing in it. */
export function emptyBody(): ProblemError {
  return bodyProblem(
    'empty-body',
    'The body is empty',
    'is empty',
    `${AN_OBJECT}; or no body and no Content-Type where the endpoint needs no field`,
  );
}

/** An `application/json` body that is not JSON; `reason` says where, when known. */
export function invalidJson(reason?: string): ProblemError {
  return bodyProblem(
    'invalid-json',
    'The body is not valid JSON',
    reason ? `is not valid JSON: ${reason}` : 'is not valid JSON',
    AN_OBJECT,
  );
}

/**
 * Reads an `application/json` body: the value, or the 400 that says what is wrong with it (empty, not JSON and where,
 * a prototype key and where). Fastify's own parser answers all of these with one message and no field.
 */
export function parseJsonBody(text: string): { ok: true; value: unknown } | { ok: false; problem: ProblemError } {
  if (text.trim() === '') return { ok: false, problem: emptyBody() };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: invalidJson(whyNotJson(text, error)) };
  }
  // Only text that could spell such a key is walked (an escape can spell it too).
  if (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) {
    const found = prototypeKeyPath(value);
    if (found)
      return {
        ok: false,
        problem: bodyProblem(
          'prototype-key',
          'The body holds a prototype key',
          `holds a ${found.key} key (at ${found.path})`,
          `${AN_OBJECT}, without __proto__ or constructor.prototype keys`,
        ),
      };
  }
  // Only an escape can spell a lone surrogate: the body's bytes were read as UTF-8, which has none.
  if (text.includes('\\u')) {
    const path = loneSurrogatePath(value);
    if (path !== null)
      return {
        ok: false,
        problem: bodyProblem(
          'lone-surrogate',
          'The body holds text that is not Unicode',
          `holds a \\u escape of half a surrogate pair without its other half${path ? ` (at ${escapedSurrogates(path)})` : ''}`,
          `${I_JSON}: a \\uD800–\\uDBFF escape is followed by a \\uDC00–\\uDFFF one`,
        ),
      };
  }
  const duplicate = duplicateKey(text);
  if (duplicate)
    return {
      ok: false,
      problem: bodyProblem(
        'duplicate-key',
        'The body names a field twice',
        `names the field ${JSON.stringify(duplicate.key).slice(0, 80)} twice (at ${duplicate.path.slice(0, 200)})`,
        `${I_JSON}: each field of an object named once`,
      ),
    };
  return { ok: true, value };
}

/**
 * The parser fastify runs for `application/json` bodies: the value, or the problem as the request's error (the
 * problem filter answers it).
 */
export function jsonBodyParser(
  request: { headers: Record<string, string | string[] | undefined> },
  body: string | Buffer,
  done: (error: Error | null, value?: unknown) => void,
) {
  const text = typeof body === 'string' ? body : decodedUtf8(request.headers['content-type'], body);
  if (text instanceof ProblemError) return done(text);
  // A leading byte order mark is no part of the JSON (RFC 8259 §8.1 lets a reader ignore it; Windows tools send one).
  const parsed = parseJsonBody(text.startsWith('\ufeff') ? text.slice(1) : text);
  if (parsed.ok) done(null, parsed.value);
  else done(parsed.problem);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body's text, read as UTF-8, the one charset JSON is exchanged in (RFC 8259 §8.1): a body that names another
 * charset, or whose bytes are not UTF-8, is refused rather than read with replacement characters (a Latin-1 `é` was
 * stored in the log as U+FFFD for good).
 */
function decodedUtf8(contentType: string | string[] | undefined, body: Buffer): string | ProblemError {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(String(contentType ?? ''))?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    return new ProblemError(
      415,
      'unsupported-media-type',
      'The charset of the body is not taken',
      `request bodies are taken as ${BODY_MEDIA_TYPE} in UTF-8 only; this one names charset ${charset.slice(0, 40)}`,
      [
        {
          field: 'header.Content-Type',
          problem: `names charset ${charset.slice(0, 40)}`,
          allowed: `${BODY_MEDIA_TYPE}; charset=utf-8`,
        },
      ],
    );
  try {
    return UTF8.decode(body);
  } catch {
    return bodyProblem('invalid-utf8', 'The body is not UTF-8', 'is not valid UTF-8', `${AN_OBJECT}, encoded in UTF-8`);
  }
}

/** A body in another media type than JSON (a form, multipart, text), or a body without a Content-Type. */
export function unsupportedMediaType(contentType: string | undefined): ProblemError {
  const given = contentType?.trim() ? contentType.trim().slice(0, 100) : undefined;
  return new ProblemError(
    415,
    'unsupported-media-type',
    'The media type of the body is not taken',
    `request bodies are taken as ${BODY_MEDIA_TYPE} only; this one is ${given ?? 'sent without a Content-Type'}`,
    [
      {
        field: 'header.Content-Type',
        problem: given ? `is ${given}` : 'is missing for a request with a body',
        allowed: `${BODY_MEDIA_TYPE} (a JSON object)`,
      },
    ],
  );
}

/** A body over BODY_LIMIT_BYTES. */
export function bodyTooLarge(): ProblemError {
  return new ProblemError(413, 'body-too-large', 'The body is too large', 'request bodies are at most 1 MiB', [
    { field: 'body', problem: 'is larger than the server takes', allowed: `at most ${BODY_LIMIT_BYTES} bytes` },
  ]);
}

/** A body whose size is not the one its Content-Length announced. */
export function contentLengthMismatch(): ProblemError {
  return new ProblemError(
    400,
    'content-length-mismatch',
    'The body does not match its Content-Length',
    'the body received is not as long as the Content-Length header says',
    [
      {
        field: 'header.Content-Length',
        problem: 'does not match the size of the body',
        allowed: 'the size of the body in bytes',
      },
    ],
  );
}
