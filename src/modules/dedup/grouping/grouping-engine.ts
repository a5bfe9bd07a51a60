/**
 * Grouping engine: decides which group (issue) a normalised message belongs to, and merges groups
 * when the evidence shows that a word the normaliser left alone is in fact a variable.
 *
 * ## The interface the service calls
 *
 * Everything here is pure and deterministic, over plain JSON state, for ONE scope
 * (source, feature). Nothing is read from or written to a database here.
 *
 *   1. Normalise the message and compute its fingerprint (`normalizeMessage`, `fingerprint`).
 *   2. If the fingerprint is already known in the scope, the message belongs to the group that
 *      fingerprint was filed under, followed through `mergedInto` to the surviving group. Stop.
 *   3. Otherwise load the scope's LIVE groups (`mergedInto IS NULL`) whose pattern has the same token
 *      count as the template (`tokenCount(template)`), plus the scope's next creation sequence
 *      number, and call
 *
 *        const decision = decideGrouping({ groups, nextSeq }, { fingerprint, template });
 *
 *      `decision.groupKey` is the group the new fingerprint is filed under (store the alias
 *      fingerprint -> groupKey). `decision.created` is a group to insert (or null when the template
 *      joined an existing group through a variable position learned earlier). Each entry of
 *      `decision.merges` says: the `absorbed` groups now point to `survivor` (`mergedInto`), the
 *      survivor's pattern becomes `pattern`, and `evidence` is appended to the survivor's evidence.
 *      `applyGroupingDecision(groups, decision)` computes the resulting group rows.
 *
 *   With several replicas, steps 2-3 for one scope must be serialised (for example a transaction
 *   holding `pg_advisory_xact_lock(hash(source, feature))`): the decision is a function of the state
 *   it was given, so two replicas deciding on the same state agree, but a decision made on stale
 *   state must not be written. Known fingerprints (step 2, the common case) need no lock. The
 *   service keeps each scope's live groups in memory between decisions (`GroupingScopeCache`) and
 *   uses them only while the scope's version, read under the lock, is the one they were stored at.
 *   Groups that agree with the template at fewer than half its positions are skipped before the
 *   search: they cannot take part (see `agreements`).
 *
 * ## What the state holds
 *
 * A `GroupState` is small: its key (the fingerprint of its first template; the issue key), its
 * creation sequence number, its pattern (the first template's tokens, `null` where evidence showed
 * a variable), `mergedInto`, and the evidence of the merges it survived. Members are not needed to
 * decide; the service keeps the fingerprint -> group alias table beside it.
 *
 * ## The rule (`variable-position`)
 *
 * Templates are split on single spaces (the normaliser collapses whitespace). Groups whose
 * patterns have the same length and are equal at every position but one (a `null`, a variable
 * learned earlier, equals anything) are peers at that position. When the peers' values there
 * reach `minDistinctValues` distinct values (3; `minDistinctWords`, 5, when every value is a plain
 * word: `Started`/`Stopped` is more often two events than one parameter), or one peer already has
 * `null` there, the position is a variable: the peers merge into the oldest, whose pattern gets
 * `null` there (and wherever a peer had `null`); the others keep their keys and become its
 * aliases, and the merge records the rule, the position and the values. A merge that would leave
 * more than half of the pattern without literal text (learned variables, and placeholders with only
 * punctuation around them: `*`, `*)`) is not made: `<V> <V>` or `* * <V>` would swallow unrelated
 * messages.
 * Merges cascade: a survivor whose pattern changed is checked again.
 *
 * A new template that fits a live pattern (equal wherever the pattern is not `null`) joins that
 * group, the most specific first, then the oldest: that follows evidence already gathered. A single
 * message never merges two groups by itself: two different values at a position are not enough
 * (the issue reports that a one-message join, measured, lost more than it won on some logs).
 * Fingerprints never change; a merge only adds aliases. The literal tokens of a pattern (not `null`,
 * without `*`) appear verbatim in every message of the group.
 *
 * ## Example (what the service does under its scope lock)
 *
 *   const template = normalizeMessage(scrubbed);
 *   const print = fingerprint(source, feature, template);
 *   // known print -> its group, following mergedInto; otherwise:
 *   const groups = await repo.liveGroups(source, feature, tokenCount(template)); // GroupState[]
 *   const decision = decideGrouping({ groups, nextSeq: await repo.nextSeq(source, feature) },
 *                                   { fingerprint: print, template });
 *   await repo.save(decision);   // insert created, alias print -> decision.groupKey, apply merges
 *   return decision.groupKey;    // the issue to file the occurrence under
 */

/** A pattern token: the literal token, or `null` at a position evidence showed to be variable. */
export type PatternToken = string | null;

export interface MergeEvidence {
  /** The rule that merged the groups. */
  readonly rule: 'variable-position';
  /** Zero-based token position (tokens are the template split on single spaces). */
  readonly position: number;
  /** The distinct values the position took among the merged groups, oldest group first. */
  readonly values: readonly string[];
  /** The key of the group that survived (the oldest). */
  readonly survivor: string;
  /** The keys of the groups merged into the survivor. */
  readonly absorbed: readonly string[];
}

export interface GroupState {
  /** The issue key: the fingerprint of the group's first template. */
  readonly key: string;
  /** Creation order within the scope; the oldest group (lowest seq) survives a merge. */
  readonly seq: number;
  /** The first template's tokens, with `null` at positions evidence showed to be variable. */
  readonly pattern: readonly PatternToken[];
  /** The group that absorbed this one, or null while it is live. */
  readonly mergedInto: string | null;
  /** The merges this group survived, in order. */
  readonly evidence: readonly MergeEvidence[];
}

export interface GroupingConfig {
  /** Distinct values a position must take across otherwise identical groups before they merge. */
  readonly minDistinctValues: number;
  /**
   * The same, when every value is a plain word (letters only, as in `Started`/`Stopped`,
   * `user=root`/`user=guest`): the words the normaliser leaves are more often the event's verb or
   * state than a parameter, so they need more evidence.
   */
  readonly minDistinctWords: number;
}

export const DEFAULT_GROUPING_CONFIG: GroupingConfig = { minDistinctValues: 3, minDistinctWords: 5 };

/** A plain word, possibly bracketed or quoted, after an optional `key=`. */
const PLAIN_WORD = /^(?:[^=]*=)?[(['"]?[A-Za-z][A-Za-z._-]*[)\]'"]?[.,:;]?$/;

export function isPlainWord(value: string): boolean {
  return PLAIN_WORD.test(value);
}

/** The part of a scope's state a decision needs. */
export interface ScopeSnapshot {
  /** The scope's live groups; only those with the template's token count are looked at. */
  readonly groups: readonly GroupState[];
  /** The `seq` a group created now gets (the scope's group count is fine). */
  readonly nextSeq: number;
}

export interface NewTemplate {
  readonly fingerprint: string;
  /** The normalised message. */
  readonly template: string;
}

export interface GroupMerge {
  readonly survivor: string;
  readonly absorbed: readonly string[];
  /** The survivor's pattern after the merge. */
  readonly pattern: readonly PatternToken[];
  readonly evidence: MergeEvidence;
}

export interface GroupingDecision {
  readonly fingerprint: string;
  /** The group the fingerprint is filed under, once this decision's merges are applied. */
  readonly groupKey: string;
  /** `new-group`: the template starts a group (possibly merged at once); `joined`: it matched one. */
  readonly outcome: 'new-group' | 'joined';
  /** The group to insert, or null when the template joined an existing group. */
  readonly created: GroupState | null;
  /** Merges that now have enough evidence, in the order they were made. */
  readonly merges: readonly GroupMerge[];
}

export function tokenize(template: string): string[] {
  return template.split(' ');
}

export function tokenCount(template: string): number {
  let count = 1;
  for (let i = template.indexOf(' '); i >= 0; i = template.indexOf(' ', i + 1)) count++;
  return count;
}

/** Whether `tokens` fit `pattern`: equal wherever the pattern has a literal. */
export function patternCovers(pattern: readonly PatternToken[], tokens: readonly string[]): boolean {
  if (pattern.length !== tokens.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const token = pattern[i];
    if (token !== null && token !== tokens[i]) return false;
  }
  return true;
}

/** Equal everywhere but at `position`, where a variable (`null`) on either side equals anything. */
function agreesExcept(a: readonly PatternToken[], b: readonly PatternToken[], position: number): boolean {
  for (let i = 0; i < a.length; i++) {
    if (i !== position && a[i] !== b[i] && a[i] !== null && b[i] !== null) return false;
  }
  return true;
}

/** A token without a letter or digit outside its placeholders: `*`, `*)`, `(*)`, `[*]`, `-`. */
const NO_LITERAL_TEXT = /^[^A-Za-z0-9]*$/;

/**
 * Positions that carry no literal text: learned variables, and placeholders with nothing but
 * punctuation around them (`(command *)` has one literal word, not two).
 */
function variables(pattern: readonly PatternToken[]): number {
  let count = 0;
  for (const token of pattern) if (token === null || NO_LITERAL_TEXT.test(token)) count++;
  return count;
}

function wildcards(pattern: readonly PatternToken[]): number {
  let count = 0;
  for (const token of pattern) if (token === null) count++;
  return count;
}

/**
 * Positions where `pattern` takes `tokens` (a literal equal to the token, or a variable). A group
 * takes part in a template's decision only when this is at least half the length (rounded up):
 * - the template is taken in only by a pattern that agrees everywhere;
 * - every pattern a merge starts from (the template, then each merge's result) is literal only
 *   where it equals the template, and a merge is made only when its result is at most half
 *   variables (`null`; placeholders count too, which only makes merges rarer). A merge at a
 *   literal position of a pattern of n tokens with v variables leaves at least v + 1, so it is
 *   made only when 2(v + 1) <= n: the pattern then has at least ceil(n/2) + 1 literals, and each
 *   peer agrees with the template at all of them but one. A merge at one of its variables needs
 *   its peers to agree at all its literals, at least ceil(n/2) of them.
 * So a group below the bound is never a peer of a merge that is made, and skipping it before the
 * search gives the same decision (`exhaustive` reads every live group; tests compare the two).
 */
function agreements(pattern: readonly PatternToken[], tokens: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < pattern.length; i++) if (pattern[i] === null || pattern[i] === tokens[i]) count++;
  return count;
}

/**
 * Decides where a template seen for the first time in its scope goes, and which merges its arrival
 * makes evident. Pure: reads `scope`, returns what to write.
 */
export function decideGrouping(
  scope: ScopeSnapshot,
  arrival: NewTemplate,
  config: GroupingConfig = DEFAULT_GROUPING_CONFIG,
  options: { exhaustive?: boolean } = {},
): GroupingDecision {
  const tokens = tokenize(arrival.template);
  const least = options.exhaustive ? 0 : Math.ceil(tokens.length / 2);
  const live = scope.groups
    .filter(
      (group) =>
        group.mergedInto === null &&
        group.pattern.length === tokens.length &&
        agreements(group.pattern, tokens) >= least,
    )
    .sort((a, b) => a.seq - b.seq);

  // A pattern learned from evidence (or the very same template) takes the template in. The most
  // specific pattern wins, then the oldest.
  let best: GroupState | undefined;
  for (const group of live) {
    if (!patternCovers(group.pattern, tokens)) continue;
    if (best === undefined || wildcards(group.pattern) < wildcards(best.pattern)) best = group;
  }
  if (best !== undefined) {
    return { fingerprint: arrival.fingerprint, groupKey: best.key, outcome: 'joined', created: null, merges: [] };
  }

  const created: GroupState = {
    key: arrival.fingerprint,
    seq: scope.nextSeq,
    pattern: tokens,
    mergedInto: null,
    evidence: [],
  };
  const working = [...live, created];
  const merges = mergeOnEvidence(working, created, config);
  let groupKey = created.key;
  for (const merge of merges) if (merge.absorbed.includes(groupKey)) groupKey = merge.survivor;
  return { fingerprint: arrival.fingerprint, groupKey, outcome: 'new-group', created, merges };
}

/**
 * Merges, in `working` (live groups of one token count, oldest first, mutated: merged groups are
 * replaced), every set of groups that differ only at one position that has taken enough distinct
 * values; starts from `start` and follows the patterns that change.
 */
function mergeOnEvidence(working: GroupState[], start: GroupState, config: GroupingConfig): GroupMerge[] {
  const merges: GroupMerge[] = [];
  const queue: GroupState[] = [start];
  while (queue.length > 0) {
    const group = queue.shift() as GroupState;
    if (!working.includes(group)) continue;
    for (let position = 0; position < group.pattern.length; position++) {
      const peers = working.filter((other) => agreesExcept(other.pattern, group.pattern, position));
      if (peers.length < 2) continue;
      const values: string[] = [];
      let learned = false;
      for (const peer of peers) {
        const value = peer.pattern[position];
        if (value === null) learned = true;
        else if (!values.includes(value)) values.push(value);
      }
      if (!learned) {
        const needed = values.every(isPlainWord) ? config.minDistinctWords : config.minDistinctValues;
        if (values.length < needed) continue;
      }

      const survivor = peers[0];
      // the position becomes a variable, and so does every position that was one in any peer
      const pattern = survivor.pattern.map((token, i) =>
        i === position || peers.some((peer) => peer.pattern[i] === null) ? null : token,
      );
      // a template must stay mostly literal: `<V> <V>` or `<V>` would swallow unrelated messages
      if (2 * variables(pattern) > pattern.length) continue;
      const absorbed = peers.slice(1).map((peer) => peer.key);
      const evidence: MergeEvidence = {
        rule: 'variable-position',
        position,
        values,
        survivor: survivor.key,
        absorbed,
      };
      const merged: GroupState = { ...survivor, pattern, evidence: [...survivor.evidence, evidence] };
      merges.push({ survivor: survivor.key, absorbed, pattern, evidence });
      for (let i = working.length - 1; i >= 0; i--) {
        if (peers.includes(working[i])) working.splice(i, 1);
      }
      working.push(merged);
      working.sort((a, b) => a.seq - b.seq);
      queue.push(merged);
      break;
    }
  }
  return merges;
}

/**
 * A live group's pattern learned again from its members' templates as the current normaliser makes
 * them (after a fingerprint upgrade, `took * ms` may have become `took *`), so that a variant first
 * seen after the upgrade still finds the group. The templates are the group's members', oldest
 * first; those with the token count most of them have (the oldest one's on a tie) make the pattern:
 * literal where they all agree, a variable where they differ, and a variable wherever `previous`
 * had one when its length is unchanged (a variable learned from a member that has left the group,
 * by an undone merge, stays learned). A result that would not be mostly literal falls back to the
 * oldest template as it is, as a new group would start. Null when there is no template. Pure.
 */
export function relearnPattern(previous: readonly PatternToken[], templates: readonly string[]): PatternToken[] | null {
  if (templates.length === 0) return null;
  const rows = templates.map(tokenize);
  const counts = new Map<number, number>();
  for (const row of rows) counts.set(row.length, (counts.get(row.length) ?? 0) + 1);
  let length = rows[0].length;
  for (const [n, count] of counts) if (count > (counts.get(length) ?? 0)) length = n;
  const same = rows.filter((row) => row.length === length);
  const oldest = same[0];
  const keepLearned = previous.length === length;
  const pattern = oldest.map((token, i) =>
    (keepLearned && previous[i] === null) || same.some((row) => row[i] !== token) ? null : token,
  );
  return 2 * variables(pattern) > pattern.length ? oldest : pattern;
}

/**
 * The merges a changed pattern makes evident (a fingerprint upgrade learned it again): the same
 * rule as on a template's arrival, started from the changed group. `groups` holds the scope's live
 * groups (at least those of the changed pattern's length), the changed one with its new pattern.
 * Pure.
 */
export function mergesAfterChange(
  groups: readonly GroupState[],
  changedKey: string,
  config: GroupingConfig = DEFAULT_GROUPING_CONFIG,
): GroupMerge[] {
  const changed = groups.find((group) => group.key === changedKey && group.mergedInto === null);
  if (changed === undefined) return [];
  const working = groups
    .filter((group) => group.mergedInto === null && group.pattern.length === changed.pattern.length)
    .sort((a, b) => a.seq - b.seq);
  return mergeOnEvidence(working, changed, config);
}

/**
 * The live groups of the template's token count once a decision is applied: `live` itself when the
 * decision wrote nothing, `live` and the created group when it only started one, else the result
 * of `applyGroupingDecision` without the groups it merged away. Pure.
 */
export function liveGroupsAfter(live: readonly GroupState[], decision: GroupingDecision): readonly GroupState[] {
  if (decision.merges.length === 0) return decision.created === null ? live : live.concat(decision.created);
  return applyGroupingDecision(live, decision).filter((group) => group.mergedInto === null);
}

/**
 * Applies a decision to a list of groups (the live groups of the template's token count, or any
 * superset): returns the new list, with the created group added, absorbed groups marked
 * `mergedInto`, and survivors carrying their new pattern and evidence. Pure.
 */
export function applyGroupingDecision(groups: readonly GroupState[], decision: GroupingDecision): GroupState[] {
  const byKey = new Map<string, GroupState>();
  for (const group of groups) byKey.set(group.key, group);
  if (decision.created) byKey.set(decision.created.key, decision.created);
  for (const merge of decision.merges) {
    const survivor = byKey.get(merge.survivor);
    if (survivor === undefined) throw new Error(`grouping: unknown survivor ${merge.survivor}`);
    byKey.set(merge.survivor, {
      ...survivor,
      pattern: merge.pattern,
      evidence: [...survivor.evidence, merge.evidence],
    });
    for (const key of merge.absorbed) {
      const absorbed = byKey.get(key);
      if (absorbed === undefined) throw new Error(`grouping: unknown absorbed group ${key}`);
      byKey.set(key, { ...absorbed, mergedInto: merge.survivor });
    }
  }
  return [...byKey.values()];
}
