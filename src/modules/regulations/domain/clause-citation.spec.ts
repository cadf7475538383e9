import { citeClause } from './clause-citation';

describe('a clause as people read it', () => {
  it.each([
    [
      { act: 'order-184-2015', appendix: 2, paragraph: 5, subparagraph: 1 },
      {
        ru: 'приказ 184, прил. 2, п. 5, пп. 1',
        kk: '184 бұйрық, 2-қосымша, 5-т., 1) тт.',
        en: 'order 184, app. 2, p. 5, sub-p. 1',
      },
    ],
    [
      { act: 'order-184-2015', appendix: 4, paragraph: 3 },
      { ru: 'приказ 184, прил. 4, п. 3', kk: '184 бұйрық, 4-қосымша, 3-т.', en: 'order 184, app. 4, p. 3' },
    ],
    [
      { act: 'order-58-2019', appendix: 3, paragraph: 7, subparagraph: 5, track: 'postgraduate' },
      {
        ru: 'приказ 58, прил. 3, п. 7, пп. 5',
        kk: '58 бұйрық, 3-қосымша, 7-т., 5) тт.',
        en: 'order 58, app. 3, p. 7, sub-p. 5',
      },
    ],
    [
      { act: 'order-58-2019', paragraph: 4 },
      { ru: 'приказ 58, п. 4', kk: '58 бұйрық, 4-т.', en: 'order 58, p. 4' },
    ],
    [
      { act: 'law-on-civil-service', paragraph: 10 },
      {
        ru: 'приказ law-on-civil-service, п. 10',
        kk: 'law-on-civil-service бұйрық, 10-т.',
        en: 'order law-on-civil-service, p. 10',
      },
    ],
  ])('%j → %j', (clause, citation) => {
    expect(citeClause(clause)).toEqual(citation);
  });
});
