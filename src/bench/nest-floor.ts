/**
 * The bare read of the case-commands suite (one row by primary key) answered through a minimal NestJS app on the
 * Fastify adapter: one controller, no guard, pipe, interceptor or hook. Its rate against the bare fastify server's is
 * the share the framework itself leaves to an API built on it, so a case view's ratio can be read against it.
 */
import { Controller, Get, Module, NotFoundException, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

export async function startNestFloorServer(file: string): Promise<{ url: string; close(): Promise<void> }> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { fileMustExist: true });
  db.pragma('journal_mode = WAL');
  const byId = db.prepare<[number], { id: number; body: string; recorded_at: number }>(
    'SELECT id, body, recorded_at FROM rows WHERE id = ?',
  );

  @Controller('rows')
  class RowsController {
    @Get(':id')
    row(@Param('id') id: string) {
      const row = byId.get(Number(id));
      if (!row) throw new NotFoundException('no such row');
      return { id: row.id, recordedAt: new Date(row.recorded_at).toISOString(), ...(JSON.parse(row.body) as object) };
    }
  }

  @Module({ controllers: [RowsController] })
  class FloorModule {}

  const app = await NestFactory.create<NestFastifyApplication>(FloorModule, new FastifyAdapter(), { logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    async close() {
      await app.close();
      db.close();
    },
  };
}
