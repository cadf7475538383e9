/**
 * A clause reference as people read it. Order 184 numbers its paragraphs afresh in each of its five
 * appendices, so a citation without the appendix would point at five places: every one names it. Pure.
 */
import type { ClauseRef } from '../../deadlines/domain/limit';

export interface ClauseCitation {
  /** «приказ 184, прил. 2, п. 5, пп. 1» */
  ru: string;
  /** «184 бұйрық, 2-қосымша, 5-т., 1) тт.»: the act's own way of citing a sub-paragraph, «1) тармақша». */
  kk: string;
  /** «order 184, app. 2, p. 5, sub-p. 1» */
  en: string;
}

/** The act's number from its catalog id (order-184-2015 → 184); another id is shown as it is. */
function actNumber(actId: string): string {
  return /^order-(\d+)-\d{4}$/.exec(actId)?.[1] ?? actId;
}

export function citeClause(clause: Pick<ClauseRef, 'act' | 'appendix' | 'paragraph' | 'subparagraph'>): ClauseCitation {
  const n = actNumber(clause.act);
  const { appendix: a, paragraph: p, subparagraph: s } = clause;
  const join = (parts: (string | false)[]) => parts.filter(Boolean).join(', ');
  return {
    ru: join([`приказ ${n}`, a !== undefined && `прил. ${a}`, `п. ${p}`, s !== undefined && `пп. ${s}`]),
    kk: join([`${n} бұйрық`, a !== undefined && `${a}-қосымша`, `${p}-т.`, s !== undefined && `${s}) тт.`]),
    en: join([`order ${n}`, a !== undefined && `app. ${a}`, `p. ${p}`, s !== undefined && `sub-p. ${s}`]),
  };
}
