import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { TokenVerifier } from '../token-verifier';
import { AuthGuard, TOKEN_VERIFIER } from './auth.guard';

/** Authentication for every route not marked @Public(): the verifier is built before Nest starts (a bad secret stops start-up). */
@Module({})
export class IdentityModule {
  static register(verifier: TokenVerifier): DynamicModule {
    return {
      module: IdentityModule,
      global: true,
      providers: [
        { provide: TOKEN_VERIFIER, useValue: verifier },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
      exports: [TOKEN_VERIFIER],
    };
  }
}
