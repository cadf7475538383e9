import type { ModuleMetadata } from '@nestjs/common';
import type { Infrastructure } from './infrastructure';

/**
 * The capability modules served by the API. Each capability owns its folder under src/modules/;
 * this is the one list that mounts them.
 */
export async function featureModules(_infra: Infrastructure): Promise<NonNullable<ModuleMetadata['imports']>> {
  return [];
}
