// The import rule: imports point down the layers (README, "Layout"; the style guide's "Layering"), never up.
// `npm run lint:imports` checks src/ and test/; a violation names the rule, the importing file and the imported one.
//
//   1 shared/  2 events/  3 modules/*/domain/  4 modules/event-log, modules/read-store, then projections/ (the runtime)
//   5 modules/*/{commands,queries,projections} and the rest of a module  6 modules/*/http/, *.module.ts, a module's CLI
//   7 app/, main.ts, worker.ts, cli/, bench/, demo/ (and benchmarks, *.bench.ts): composition; nothing imports them
//
// A spec may import what its subject may import, plus test/support/. test/ (cross-capability tests) may import anything.

const MODULE = '^src/modules/[^/]+/';
const STORES = '^src/modules/(event-log|read-store)/';
const DOMAIN = `${MODULE}domain/`;
const EDGE = [`${MODULE}http/`, `${MODULE}.*\\.module\\.ts$`, `${MODULE}[^/]+\\.(cli|command)\\.ts$`];
const COMPOSITION = ['^src/(app|cli|bench|demo)/', '^src/(main|worker)\\.ts$', '^src/.*\\.bench\\.ts$'];

/** Each layer: the paths that belong to it (pathNot: what a lower or higher layer claims first). */
const LAYERS = [
  { name: 'shared', path: ['^src/shared/'] },
  { name: 'events', path: ['^src/events/'] },
  { name: 'domain', path: [DOMAIN], pathNot: [STORES] },
  { name: 'stores', path: [STORES], pathNot: COMPOSITION },
  { name: 'projection-runtime', path: ['^src/projections/'], pathNot: COMPOSITION },
  { name: 'module', path: [MODULE], pathNot: [STORES, DOMAIN, ...EDGE, ...COMPOSITION] },
  { name: 'edge', path: EDGE, pathNot: [STORES, DOMAIN, ...COMPOSITION] },
  { name: 'composition', path: COMPOSITION },
];

/**
 * Upward imports not fixed yet, each with its reason: the rule stays strict for everything else. Every import from a
 * file matching `from` (and not `fromNot`) to one matching an entry of `to` is let through. The `from`s must not
 * overlap (`fromNot` keeps them apart): a file with two reasons is one entry with both.
 */
const EXCEPTIONS = [];

/** One rule per pair of layers, so each side keeps its own path and pathNot. */
function forbiddenUpward() {
  const rules = [];
  LAYERS.forEach((layer, index) => {
    const excepted = EXCEPTIONS.map((e) => e.from);
    for (const upper of LAYERS.slice(index + 1)) {
      const to = { path: upper.path, pathNot: upper.pathNot ?? [] };
      rules.push({
        name: `${layer.name}-imports-${upper.name}`,
        comment: `${layer.name} may import only the layers below it (STYLE.md, Layering)`,
        severity: 'error',
        from: { path: layer.path, pathNot: [...(layer.pathNot ?? []), ...excepted] },
        to,
      });
      EXCEPTIONS.forEach((exception, i) => {
        rules.push({
          name: `${layer.name}-imports-${upper.name}-except-${i + 1}`,
          comment: `as ${layer.name}-imports-${upper.name}, letting through: ${exception.reason}`,
          severity: 'error',
          // the exception's files that belong to this layer
          from: {
            path: layer.path.map((p) => `(?=${exception.from})${p}`),
            pathNot: [...(layer.pathNot ?? []), ...(exception.fromNot ?? [])],
          },
          to: { path: to.path, pathNot: [...to.pathNot, ...exception.to] },
        });
      });
    }
  });
  return rules;
}

module.exports = {
  forbidden: [
    ...forbiddenUpward(),
    {
      name: 'no-test-code-in-src',
      comment: 'what runs in production imports nothing from test/',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^test/' },
    },
    {
      name: 'specs-use-test-support-only',
      comment: 'a spec under src/ may import test/support/, not other tests',
      severity: 'error',
      from: { path: '^src/.*\\.spec\\.ts$' },
      to: { path: '^test/', pathNot: '^test/support/' },
    },
    {
      name: 'optional-clients-loaded-on-first-use',
      comment:
        "the EventStoreDB client, the MongoDB driver and exceljs are imported dynamically where a deployment or a request first uses them: the embedded default's start does not load them",
      severity: 'error',
      from: {
        path: '^src/',
        pathNot: [
          '\\.(spec|bench)\\.ts$',
          '^src/bench/',
          '^src/modules/read-store/mongodb/',
          '^src/modules/event-log/eventstoredb/',
          '^src/modules/personal-data/keys/mongodb-key-store\\.ts$',
        ],
      },
      to: {
        path: [
          '^src/modules/read-store/mongodb/',
          '^src/modules/event-log/eventstoredb/',
          '^src/modules/personal-data/keys/mongodb-key-store\\.ts$',
          '(^|/)node_modules/(mongodb|@eventstore/db-client|exceljs)/',
        ],
        dynamic: false,
        // A type loads nothing at run time.
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'no-unresolvable',
      comment: 'an import that does not resolve would hide an edge from this rule',
      severity: 'error',
      from: { path: '^(src|test)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Browser scripts the dashboard serves import by URL (/dashboard/vendor/…), not by module path.
    exclude: { path: ['^test/.*/fixtures/', '^src/modules/[^/]+/dashboard/.*\.js$'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
