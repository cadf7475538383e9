/**
 * A unit of the service provider, as tokens, filings and filters name it: an id, not a display name. Free text let a
 * citizen file into a unit spelt with a right-to-left override ("\u202Eanatsa" reads "astana" in the auditor's unit
 * filter), zero-width characters, tabs or markup, which the dashboard's unit filter could not even ask for.
 */
export const UNIT_ID = /^[\w.-]{1,100}$/;
export const UNIT_ID_ALLOWED = 'a unit id: letters, digits, "-", "_" and "." (ASCII, 1–100)';
