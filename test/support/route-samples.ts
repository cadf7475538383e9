/** The routes a server has that need no token, concrete paths for its routes, and the spellings of a path an attacker tries. */
import { RequestMethod, type INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { PUBLIC_ROUTE, REQUIRED_ROLES } from '../../src/modules/identity/http/identity.decorators';

/** Public by design: operations probes, the dashboard page and its assets (its API calls carry a token), the API docs. */
export const PUBLIC_ROUTES = [
  'GET /health',
  'GET /health/live',
  'GET /health/ready',
  'GET /metrics',
  'GET /dashboard',
  'GET /dashboard/:file',
  'GET /dashboard/vendor/:file',
  'GET /api/docs',
  'GET /api/docs/',
  'GET /api/docs/*',
  'GET /api/docs/index.html',
  'GET /api/docs/LICENSE',
  'GET /api/docs/swagger-ui-init.js',
  'GET /api/docs/docs/swagger-ui-init.js',
  'GET /api/docs/docs/*',
  'GET /api/docs-json',
  'GET /api/docs-yaml',
  // The verifiable log: only sizes, hashes, signatures and public keys (TRANSPARENCY_ACCESS=auditor closes them).
  'GET /api/evidence/public-key',
  'GET /api/transparency/checkpoint',
  'GET /api/transparency/checkpoints',
  'GET /api/transparency/proofs/inclusion',
  'GET /api/transparency/proofs/consistency',
  'GET /api/transparency/keys',
  'POST /api/transparency/cosignatures',
];
export const isPublic = (method: string, url: string) =>
  PUBLIC_ROUTES.includes(`${method === 'HEAD' ? 'GET' : method} ${url}`);

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
  for (const extra of [
    `${path}/`,
    `${path}/.`,
    `${path}/..`,
    `${path}?`,
    `${path}#x`,
    `/${path}`,
    `//${path.slice(1)}`,
    `/.${path}`,
    `/x/..${path}`,
    `/x/%2e%2e${path}`,
    `/%2e${path}`,
    path.toUpperCase(),
    encodeURI(path).replace(/%25/g, '%'),
  ]) {
    variants.add(extra);
  }
  return [...variants];
}

export interface DeclaredAccess {
  public: boolean;
  /** The roles the handler or its controller requires (admin always passes), or null for any authenticated caller. */
  roles: string[] | null;
}

/**
 * What each controller route declares (@Public(), @RequireRoles()), read from the Nest metadata the guard reads,
 * keyed like the server's routes (`GET /api/cases/:caseId`). Routes of plugins (the API docs) are not in it.
 */
export function declaredAccess(app: INestApplication): Map<string, DeclaredAccess> {
  const declared = new Map<string, DeclaredAccess>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
        const paths = [Reflect.getMetadata(PATH_METADATA, handler)].flat() as string[];
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
        const open = Boolean(
          Reflect.getMetadata(PUBLIC_ROUTE, handler) ?? Reflect.getMetadata(PUBLIC_ROUTE, controller),
        );
        const roles = (Reflect.getMetadata(REQUIRED_ROLES, handler) ??
          Reflect.getMetadata(REQUIRED_ROLES, controller) ??
          null) as string[] | null;
        for (const path of paths) {
          const url = `/${[base, path]
            .map((p) => p.replace(/^\/+|\/+$/g, ''))
            .filter(Boolean)
            .join('/')}`;
          declared.set(`${method} ${url}`, { public: open, roles });
        }
      }
    }
  }
  return declared;
}
