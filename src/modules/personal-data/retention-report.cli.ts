/** `npm run cli -- retention-report`: see erase.cli.ts. */
export { runReport as run } from './erase.cli';
