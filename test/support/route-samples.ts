/** Concrete paths for the routes a server has, and the spellings of a path an attacker tries. */

const SAMPLE_PARAMS: Record<string, string> = {
  caseId: '01900000-0000-7000-8000-000000000000',
  stepId: 'registration',
  code: 'KZ',
  versionId: 'personnel-reserve.184-2015',
  file: 'dashboard.js',
};

/** A route's URL with its parameters filled in. */
export function samplePath(url: string): string {
  return url.replace(/:(\w+)/g, (_, name: string) => SAMPLE_PARAMS[name] ?? 'x').replace(/\*$/, 'index.html');
}

const hex = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

/** The spellings of one path an attacker tries: escapes, doubled slashes, dot segments, trailing slashes, case. */
export function pathVariants(path: string): string[] {
  const segments = path.split('/').slice(1);
  const join = (parts: string[]) => `/${parts.join('/')}`;
  const variants = new Set<string>([path]);
  segments.forEach((segment, i) => {
    if (!segment) return;
    const replace = (s: string) => join(segments.map((x, j) => (j === i ? s : x)));
    variants.add(replace(hex(segment[0]) + segment.slice(1)));
    variants.add(replace(hex(segment[0]).toLowerCase() + segment.slice(1)));
    variants.add(replace([...segment].map(hex).join('')));
    variants.add(replace(segment.toUpperCase()));
    variants.add(replace(`${segment};x=1`));
    variants.add(replace(`./${segment}`));
    variants.add(replace(`x/../${segment}`));
    variants.add(replace(`%2e/${segment}`));
    variants.add(replace(`x/%2e%2e/${segment}`));
    variants.add(replace(`${segment}/`));
    variants.add(replace(`/${segment}`));
    if (i > 0) variants.add(`${join(segments.slice(0, i))}%2F${join(segments.slice(i)).slice(1)}`);
    if (i > 0) variants.add(`${join(segments.slice(0, i))}%2f${join(segments.slice(i)).slice(1)}`);
    if (i > 0) variants.add(`${join(segments.slice(0, i))}\\${join(segments.slice(i)).slice(1)}`);
  });
  for (const extra of [`${path}/`, `${path}/.`, `${path}/..`, `${path}?`, `${path}#x`, `/${path}`, `//${path.slice(1)}`, `/.${path}`, `/x/..${path}`, `/x/%2e%2e${path}`, `/%2e${path}`, path.toUpperCase(), encodeURI(path).replace(/%25/g, '%')]) {
    variants.add(extra);
  }
  return [...variants];
}
