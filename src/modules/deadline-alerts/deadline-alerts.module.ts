/** Deadline alerts over HTTP: the pull feed (with its live variant) and the admins' webhook API. */
import { Module, type DynamicModule } from '@nestjs/common';
import type { Infrastructure } from '../../app/infrastructure';
import { FeedQueries } from './feed/feed.queries';
import { FEED_QUERIES, FeedController } from './http/feed.controller';
import { WEBHOOK_ALLOW_PRIVATE, WEBHOOK_STORE, WebhooksController } from './http/webhooks.controller';

@Module({})
export class DeadlineAlertsModule {
  static register(infra: Pick<Infrastructure, 'eventLog' | 'readStore' | 'config' | 'personalData'>): DynamicModule {
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
