/** Local dates are a small library below the domain (HTTP parameter checks use them too); the calendar speaks them. */
export * from '../../../shared/dates/local-date';
