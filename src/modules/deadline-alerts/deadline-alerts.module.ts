/** Deadline alerts over HTTP: the pull feed (with its live variant) and the admins' webhook API. */
import { Module, type DynamicModule } from '@nestjs/common';
import type { EventLog } from '../event-log/event-log.port';
import type { ReadStore } from '../read-store/read-store.port';
import type { PersonalDataVault } from '../personal-data/personal-data-vault';
import { FeedQueries } from './feed/feed.queries';
import { FEED_QUERIES, FeedController } from './http/feed.controller';
import { WEBHOOK_ALLOW_PRIVATE, WEBHOOK_STORE, WebhooksController } from './http/webhooks.controller';

/** What the deadline alerts' module needs from the process that hosts it; app/ provides it. */
export interface DeadlineAlertsModuleDeps {
  eventLog: EventLog;
  /** The webhook subscriptions and outbox live in the read store. */
  readStore: ReadStore;
  personalData: PersonalDataVault;
  config: { webhooks: { allowPrivate: boolean } };
}

@Module({})
export class DeadlineAlertsModule {
  static register(infra: DeadlineAlertsModuleDeps): DynamicModule {
    return {
      module: DeadlineAlertsModule,
      controllers: [FeedController, WebhooksController],
      providers: [
        { provide: FEED_QUERIES, useValue: new FeedQueries(infra.eventLog, infra.personalData) },
        { provide: WEBHOOK_STORE, useValue: infra.readStore },
        { provide: WEBHOOK_ALLOW_PRIVATE, useValue: infra.config.webhooks.allowPrivate },
      ],
    };
  }
}
