/**
 * CSV and XLSX downloads of the dashboard's tables: the same rows the list answers, every one of them (not one
 * page), streamed as the query yields them a chunk at a time, with column headings in the reader's language.
 */
import { applyDecorators, StreamableFile } from '@nestjs/common';
import { stringify } from 'csv-stringify';
import { PassThrough, Readable } from 'node:stream';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { OneOf } from './parameter-constraints';

export const EXPORT_FORMATS = ['csv', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_LANGUAGES = ['ru', 'kk', 'en'] as const;
export type ExportLanguage = (typeof EXPORT_LANGUAGES)[number];

const MEDIA_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

export interface ExportColumn<Row> {
  heading: Record<ExportLanguage, string>;
  value: (row: Row, lang: ExportLanguage) => string | number | null;
}

/** The `format` parameter of a route that offers its table as a download (the DTO's field). */
export const ExportFormatParameter = (): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({
      enum: EXPORT_FORMATS,
      description:
        'download the table as a file (or ask by Accept: text/csv or the XLSX media type); leave out for JSON',
    }),
    IsOptional(),
    OneOf(EXPORT_FORMATS, 'an export format', `${EXPORT_FORMATS.join(' | ')} (leave out for JSON)`),
  );

/** The `lang` parameter of a download: the language of its column headings. */
export const ExportLanguageParameter = (): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({
      enum: EXPORT_LANGUAGES,
      description: "the language of a download's column headings; default ru",
    }),
    IsOptional(),
    OneOf(EXPORT_LANGUAGES, 'a language of the labels', EXPORT_LANGUAGES.join(' | ')),
  );

/**
 * The download asked for, if any: `?format=csv|xlsx`, or an Accept header that weighs CSV or the XLSX media type above
 * JSON (a browser's `*\/*` keeps the JSON answer). The language is `?lang=`, else ru, the page's default. Both
 * parameters were checked by the route's DTO.
 */
export function exportRequest(
  query: { format?: ExportFormat; lang?: ExportLanguage },
  accept: string | undefined,
): { format: ExportFormat; lang: ExportLanguage } | null {
  const format = query.format ?? (accept ? acceptedDownload(accept) : undefined);
  return format ? { format, lang: query.lang ?? 'ru' } : null;
}

const QUALITY = /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/i;

/**
 * The download an Accept header prefers (RFC 9110, 12.5.1): CSV or the XLSX type named with a higher weight than JSON
 * (`application/json` or `application/*`); `q=0` refuses a type. A wildcard alone is no wish for a file, and a range
 * with a weight that does not read is left out. Ties: CSV before XLSX.
 */
function acceptedDownload(accept: string): ExportFormat | undefined {
  let csv = 0;
  let xlsx = 0;
  let json = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim());
    const weight = parameters.find((p) => /^q=/i.test(p));
    if (weight !== undefined && !QUALITY.test(weight)) continue;
    const q = weight === undefined ? 1 : Number(weight.slice(2));
    const media = type.toLowerCase();
    if (media === 'text/csv') csv = Math.max(csv, q);
    else if (media === MEDIA_TYPES.xlsx) xlsx = Math.max(xlsx, q);
    else if (media === 'application/json' || media === 'application/*') json = Math.max(json, q);
  }
  const best = Math.max(csv, xlsx);
  if (best === 0 || best <= json) return undefined;
  return csv === best ? 'csv' : 'xlsx';
}

interface HeaderReply {
  header(name: string, value: string): unknown;
}

/** Streams the rows as a file and sets its type and name; nothing but the current chunk is held in memory. */
export function exportTable<Row>(
  reply: HeaderReply,
  request: { format: ExportFormat; lang: ExportLanguage },
  name: string,
  columns: ExportColumn<Row>[],
  rows: AsyncIterable<Row>,
): StreamableFile {
  const { format, lang } = request;
  reply.header('content-type', MEDIA_TYPES[format]);
  reply.header('content-disposition', `attachment; filename="${name}.${format}"`);
  reply.header('cache-control', 'no-store');
  const values = async function* () {
    for await (const row of rows) yield columns.map((c) => c.value(row, lang) ?? '');
  };
  if (format === 'csv') {
    const csvValues = async function* () {
      for await (const row of values()) yield row.map((v) => (typeof v === 'string' ? formulaProofSegments(v) : v));
    };
    // A byte-order mark so that spreadsheet programs read the Cyrillic headings as UTF-8.
    const csv = stringify({
      header: true,
      columns: columns.map((c, i) => ({ key: String(i), header: c.heading[lang] })),
      bom: true,
      // A cell a spreadsheet would run as a formula (= + - @, tab, CR first) is written with a leading ' instead: units and
      // actor names come from filers and tokens, and an auditor opens the file.
      escape_formulas: true,
    });
    Readable.from(csvValues())
      .on('error', (e) => csv.destroy(e))
      .pipe(csv);
    return new StreamableFile(csv);
  }
  const out = new PassThrough();
  void (async () => {
    // Loaded on the first spreadsheet asked for: it is the heaviest module the service would otherwise load at start.
    const { default: ExcelJS } = await import('exceljs');
    const book = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true });
    // Excel refuses a sheet name over 31 characters or with any of : \ / ? * [ ] (a file name may be longer).
    const sheet = book.addWorksheet(name.replace(/[:\\/?*[\]]/g, '-').slice(0, 31));
    sheet.columns = columns.map((c) => ({ header: c.heading[lang], width: 22 }));
    sheet.getRow(1).font = { bold: true };
    for await (const row of values()) sheet.addRow(row).commit();
    sheet.commit();
    await book.commit();
  })().catch((error: Error) => out.destroy(error));
  return new StreamableFile(out);
}

/** What a spreadsheet runs as a formula when a cell starts with it (csv-stringify's escape_formulas list). */
const FORMULA_START = '=+\\-@\\t\\r\\uFF1D\\uFF0B\\uFF0D\\uFF20';
const FORMULA_AFTER_SEPARATOR = new RegExp(`([,;][" ]*)(?=[${FORMULA_START}])`, 'g');

/**
 * A cell's text with a ' put before any formula that follows a `;` or `,` in it. Excel in ru-RU and kk-KZ splits a CSV
 * on `;`, its list separator there: a value written whole in one comma-separated cell ("Иванов;=cmd|…") becomes cells
 * of its own, the second a formula. Quoting the cell does not keep it whole in that reading (the quotes pair up across
 * the commas), so every place a reader may start a cell is made harmless, as the cell's own start is (escape_formulas).
 */
export function formulaProofSegments(value: string): string {
  return value.replace(FORMULA_AFTER_SEPARATOR, "$1'");
}

/** Rows already in memory (a summary, one case's history) as the stream exportTable reads. */
export async function* fromArray<T>(rows: readonly T[]): AsyncGenerator<T> {
  yield* rows;
}
