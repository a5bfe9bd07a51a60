import { clipText, storableText } from '../database/pg-text';
import { scrubSecrets } from './secret-scrubber';

/**
 * Text from outside (a webhook's field, an upstream service's error answer, a quoted input) as
 * fixloop stores, sends or logs it: storable (`storableText`), scrubbed of secrets, and only then
 * clipped to at most `maxUnits` (`clipText`). The order matters: a clip can cut a secret in half
 * (`<krakenToken>...` loses its closing tag, a token falls under its vendor's minimum length), and
 * the half the scrubber no longer recognises would be kept.
 */
export function scrubbedText(text: string, maxUnits = Number.POSITIVE_INFINITY): string {
  return clipText(scrubSecrets(storableText(text)).text, maxUnits);
}

/** `scrubbedText` for an optional field: null stays null. */
export function scrubbedOrNull(text: string | null, maxUnits?: number): string | null {
  return text === null ? null : scrubbedText(text, maxUnits);
}

/** `scrubbedText` for a field a request may leave out or send as null: both pass through as they are. */
export function scrubbedOptional<T extends null | undefined>(text: string | T): string | T {
  return typeof text === 'string' ? scrubbedText(text) : text;
}

/**
 * An error's text from outside (an upstream service's answer, an agent's failure summary) as it is
 * stored in an `error` column and logged: scrubbed, its first line only, at most `maxUnits`.
 */
export function errorLine(text: string, maxUnits = 300): string {
  return clipText(scrubbedText(text).split('\n')[0], maxUnits);
}
