import { InitialSchema1764100000000 } from './1764100000000-initial-schema';

/**
 * Every migration, in order. Listed explicitly (not globbed) so the same list runs from the
 * compiled build, from Jest and from the CLI. A migration is never edited once landed: add one.
 */
export const MIGRATIONS = [InitialSchema1764100000000];
