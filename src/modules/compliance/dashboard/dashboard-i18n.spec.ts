/**
 * The dashboard's own words: every key the page and its script use is in the Russian, Kazakh and English
 * dictionaries, so no string falls back to another language when the reader switches.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';

const script = readFileSync(join(__dirname, 'dashboard.js'), 'utf8');
const page = readFileSync(join(__dirname, 'index.html'), 'utf8');
const dictionaries = runInNewContext(`(${/const I18N = (\{[\s\S]*?\n {2}\});/.exec(script)![1]})`) as Record<
  'ru' | 'kk' | 'en',
  Record<string, string>
>;
const used = [
  ...new Set([...page.matchAll(/data-i18n="(\w+)"/g), ...script.matchAll(/\bt\('(\w+)'\)/g)].map((m) => m[1]!)),
].sort();

describe('the dashboard’s dictionaries', () => {
  it('the page uses keys at all', () => {
    expect(used).toEqual(expect.arrayContaining(['title', 'live', 'tokenHint', 'pageTitle', 'clause']));
  });

  it('a message with a placeholder keeps it in every language', () => {
    for (const key of used) {
      const holes = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const ru = holes(dictionaries.ru[key]!);
      expect({ key, kk: holes(dictionaries.kk[key]!), en: holes(dictionaries.en[key]!) }).toEqual({
        key,
        kk: ru,
        en: ru,
      });
    }
  });

  it.each(['ru', 'kk', 'en'] as const)('%s has every key the page and the script use, and no other', (lang) => {
    expect(Object.keys(dictionaries[lang]).sort()).toEqual(used);
  });

  it('Kazakh and English carry no Russian-only word', () => {
    for (const key of used) {
      expect({ key, en: /[а-яё]/i.test(dictionaries.en[key]!) }).toEqual({ key, en: false });
      // Kazakh shares Cyrillic; a Kazakh entry equal to the Russian one must be a word both languages use ("с": seconds).
      if (dictionaries.kk[key] === dictionaries.ru[key])
        expect({ key, word: dictionaries.kk[key] }).toEqual({ key, word: expect.stringMatching(/^(медиана|мин|с)$/) });
    }
  });
});
