/**
 * The dedup module's public normalisation functions, for modules that must recognise a message
 * the way dedup does (verification re-normalises log lines fetched from Loki). Pure functions:
 * `normalizeMessage` masks the variable parts of a message, `fingerprint` hashes
 * `source|feature|normalizedMessage`; `templateOf` and `fingerprintMessage` do what ingest does to a
 * raw message (storable text, secrets scrubbed, normalised, fingerprinted): use them on raw text;
 * `scopeText` makes a short label value (source, feature, version) storable and secret-free.
 */
export { PLACEHOLDER, normalizeMessage } from './normalizer/message-normalizer';
export { fingerprint } from './normalizer/fingerprint';
export { fingerprintMessage, scopeText, templateOf } from './normalizer/fingerprint-message';
