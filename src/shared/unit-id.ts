/**
 * A unit of the service provider, as tokens, filings and filters name it: an id, not a display name. Free text let a
 * citizen file into a unit spelt with a right-to-left override ("\u202Eanatsa" reads "astana" in the auditor's unit
 * filter), zero-width characters, tabs or markup. Letters of any script stay allowed: an identity provider may name
 * units in Kazakh or Russian ("Астана", "ЦОН 3"), and a stricter id would lock its staff out.
 */
export const UNIT_ID = /^[\p{L}\p{N}](?:[\p{L}\p{M}\p{N} ._/-]{0,98}[\p{L}\p{M}\p{N}])?$/u;
export const UNIT_ID_ALLOWED =
  'a unit id: letters of any script and digits, with ".", "_", "/", "-" or spaces between them (1–100 characters)';
