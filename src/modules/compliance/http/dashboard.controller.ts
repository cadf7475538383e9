/** The dashboard page at /dashboard and its assets, served by the application itself; no token is needed for the page (its API calls carry one). */
import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ProblemError } from '../../../shared/problem/problem';
import { Public } from '../../identity/http/identity.decorators';

const PAGE_DIR = join(__dirname, '../dashboard');
const ASSETS: Record<string, { file: string; type: string }> = {
  'dashboard.js': { file: join(PAGE_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { file: join(PAGE_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  // Chart.js, the charting library, from its own package (no CDN: the page works on a closed network).
  'vendor/chart.umd.min.js': {
    file: join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  // The Server-Sent Events parser, as the ES module its package ships (the page imports it).
  'vendor/eventsource-parser.js': {
    file: join(dirname(require.resolve('eventsource-parser')), 'index.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

/** Files are read once, on first request. */
const cache = new Map<string, string>();
const read = (file: string) => cache.get(file) ?? (cache.set(file, readFileSync(file, 'utf8')), cache.get(file)!);

@ApiExcludeController()
@Controller('dashboard')
export class DashboardController {
  @Get()
  @Public()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return read(join(PAGE_DIR, 'index.html'));
  }

  @Get('vendor/:file')
  @Public()
  vendor(@Param('file') file: string, @Res() reply: ReplyLike) {
    return this.asset(`vendor/${file}`, reply);
  }

  @Get(':file')
  @Public()
  file(@Param('file') file: string, @Res() reply: ReplyLike) {
    return this.asset(file, reply);
  }

  private asset(name: string, reply: ReplyLike) {
    // Own keys only: `constructor` or `__proto__` would otherwise find Object.prototype's members.
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) throw ProblemError.notFound('File', `the dashboard has no file ${name}`, 'path.file');
    reply.header('content-type', asset.type).header('cache-control', 'public, max-age=300').send(read(asset.file));
  }
}

interface ReplyLike {
  header(name: string, value: string): ReplyLike;
  send(body: string): unknown;
}
