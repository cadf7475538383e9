import 'reflect-metadata';
import { startApi } from './app/bootstrap';
import { runProcess } from './app/run-process';
import { startupHint } from './modules/identity/mint-token.cli';

/** The API process. On the embedded default it also runs the projections (PROJECTIONS=inline). */
void runProcess('reglament', startApi, (running, config, logger) => {
  logger.info(
    {
      url: running.url,
      address: running.app.getHttpServer().address(),
      // The shape: which stores, and where the projections run.
      eventStore: config.eventStore.kind,
      readStore: config.readStore.kind,
      projections: config.projections,
      dataDir: config.dataDir,
      docs: `${running.url}/api/docs`,
    },
    'reglament listening',
  );
  if (running.infra.identity.signing?.file) process.stderr.write(`${startupHint(running.url, config.dataDir)}\n`);
});
