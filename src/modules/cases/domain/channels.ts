/**
 * The channel in two vocabularies: a command names the way the applicant came (portal | psc | office); the
 * catalog keeps the regulation's own words, which are the law's (order 184 distinguishes the provider, "услугодатель",
 * from the provider's registry office, "канцелярия услугодателя"; no version offers both). Answers keep the catalog's
 * id and say beside it which command word files through it, with a label in ru, kk and en.
 */
import { CHANNEL_MAP, type RequestedChannel } from './decide';

export interface ChannelLabel {
  ru: string;
  kk: string;
  en: string;
}

/** The command's word that files through a channel of the catalog, or null for a channel no command reaches. */
export function requestedChannelOf(channelId: string): RequestedChannel | null {
  return (Object.keys(CHANNEL_MAP) as RequestedChannel[]).find((k) => CHANNEL_MAP[k].includes(channelId)) ?? null;
}

/** ru and kk as the regulations' data files write them (data/regulations/*.yaml, `channels`); en ours. */
const CATALOG_CHANNEL_LABELS: Readonly<Record<string, ChannelLabel>> = {
  portal: {
    ru: 'Веб-портал «электронного правительства»',
    kk: '«Электрондық үкімет» веб-порталы',
    en: 'E-government web portal',
  },
  psc: {
    ru: 'Центр обслуживания населения (ЦОН)',
    kk: 'Халыққа қызмет көрсету орталығы (ХҚКО)',
    en: 'Public service centre (PSC)',
  },
  provider: { ru: 'Услугодатель', kk: 'Көрсетілетін қызметті беруші', en: 'The service provider' },
  'provider-registry': {
    ru: 'Канцелярия услугодателя',
    kk: 'Көрсетілетін қызметті берушінің кеңсесі',
    en: "The service provider's registry office",
  },
};

const REQUESTED_CHANNEL_LABELS: Readonly<Record<RequestedChannel, ChannelLabel>> = {
  portal: CATALOG_CHANNEL_LABELS.portal!,
  psc: CATALOG_CHANNEL_LABELS.psc!,
  office: {
    ru: 'Услугодатель (канцелярия)',
    kk: 'Көрсетілетін қызметті беруші (кеңсе)',
    en: "The service provider's office",
  },
};

/**
 * A channel's label in ru, kk and en: the catalog's words for its own ids, else those of the command's word, else
 * the id itself (a channel a later data file adds is still named, never null).
 */
export function channelLabel(channelId: string): ChannelLabel {
  const requested = requestedChannelOf(channelId);
  return (
    CATALOG_CHANNEL_LABELS[channelId] ??
    (requested ? REQUESTED_CHANNEL_LABELS[requested] : { ru: channelId, kk: channelId, en: channelId })
  );
}
