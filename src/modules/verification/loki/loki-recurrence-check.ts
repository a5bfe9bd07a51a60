import { clipText, storableStrings } from '../../../shared/database/pg-text';
import { scrubJsonSecrets } from '../../../shared/security/secret-scrubber';
import { BuildRef, classifyBuild, countsAsRecurrence } from '../build-match';
import { LokiClient, LokiEntry } from './loki-client';
import { LineReaderOptions, readLokiLine } from './loki-line-reader';
import { sourceSelectors, verificationQuery } from './logql';

export interface LokiScope {
  source: string;
  /** Normalised templates to search for in that source. */
  templates: string[];
}

export interface LokiCheckRequest {
  scopes: LokiScope[];
  fingerprints: ReadonlySet<string>;
  fixBuilds: readonly BuildRef[];
  /** Inclusive start, ns. */
  fromNs: bigint;
  /** Inclusive end, ns (the query's end). */
  toNs: bigint;
  /** Lines stamped before this are settled (no more will arrive): old-build lines are tallied up to here. */
  settledNs: bigint;
}

export interface LokiRecurrence {
  ns: bigint;
  version?: string;
  message: string;
  fingerprint: string;
  labels: Record<string, string>;
}

export interface LokiCheckResult {
  /** Lines from a build that contains the fix (or unlabelled): each one fails the fix. */
  recurrences: LokiRecurrence[];
  /** Matching lines from older builds, stamped before `coveredUntilNs` (later ones are seen again next time). */
  oldBuildLines: number;
  /** Everything before this (exclusive) has been looked at; the next check starts here. */
  coveredUntilNs: bigint;
  queries: number;
}

export const LOKI_PAGE_LIMIT = 1000;
export const LOKI_MAX_PAGES = 5;
/** Bounds the work on an issue whose aliases span many templates. */
export const LOKI_MAX_TEMPLATES = 5;

/**
 * Queries Loki for lines of the issue in [fromNs, toNs] and keeps only the true matches: lines
 * whose re-normalised message fingerprints (source|feature|template) to one of the window's
 * fingerprints. Pages forward by `LOKI_PAGE_LIMIT`; when the pages run out before `toNs`, the
 * result covers up to the last line seen and the next check continues from there.
 */
export async function checkLoki(
  client: LokiClient,
  req: LokiCheckRequest,
  reader: LineReaderOptions,
): Promise<LokiCheckResult> {
  const result: LokiCheckResult = { recurrences: [], oldBuildLines: 0, coveredUntilNs: req.settledNs, queries: 0 };
  const seen = new Set<string>();
  const oldBuildNs: bigint[] = [];
  for (const scope of req.scopes) {
    for (const selector of sourceSelectors(reader.sourceLabels, scope.source)) {
      for (const template of scope.templates.slice(0, LOKI_MAX_TEMPLATES)) {
        const query = verificationQuery(selector, template);
        let start = req.fromNs;
        for (let page = 0; page < LOKI_MAX_PAGES; page++) {
          const answer = await client.queryRange({
            query,
            startNs: start,
            endNs: req.toNs,
            limit: LOKI_PAGE_LIMIT,
            direction: 'forward',
          });
          result.queries++;
          if (answer.resultType !== 'streams') {
            throw new Error(`Loki answered a ${answer.resultType} to a log query`);
          }
          let lines = 0;
          let last = start;
          for (const stream of answer.streams) {
            for (const entry of stream.entries) {
              lines++;
              if (entry.ns > last) last = entry.ns;
              const key = `${JSON.stringify(stream.labels)}\u0000${entry.ns}\u0000${entry.line}`;
              if (seen.has(key)) continue;
              seen.add(key);
              tallyLine(result, oldBuildNs, stream.labels, entry, req, reader);
            }
          }
          if (lines < LOKI_PAGE_LIMIT) break;
          if (page === LOKI_MAX_PAGES - 1 || last === start) {
            // More than we page through: cover up to the last line seen, continue next check.
            if (last < result.coveredUntilNs) result.coveredUntilNs = last;
            break;
          }
          start = last;
        }
      }
    }
  }
  result.oldBuildLines = oldBuildNs.filter((ns) => ns < result.coveredUntilNs).length;
  return result;
}

function tallyLine(
  result: LokiCheckResult,
  oldBuildNs: bigint[],
  labels: Record<string, string>,
  entry: LokiEntry,
  req: LokiCheckRequest,
  reader: LineReaderOptions,
): void {
  if (entry.ns < req.fromNs || entry.ns > req.toNs) return;
  const read = readLokiLine(labels, entry.structuredMetadata, entry.line, reader);
  if (!req.fingerprints.has(read.fingerprint)) return;
  const verdict = classifyBuild(read.version, req.fixBuilds);
  if (countsAsRecurrence(verdict)) {
    // Evidence is stored and sent (history, outbox, board): only scrubbed, storable text.
    const recurrence: LokiRecurrence = {
      ns: entry.ns,
      message: clipText(read.scrubbedMessage, 2000),
      fingerprint: read.fingerprint,
      labels: scrubJsonSecrets(storableStrings(labels)).value,
    };
    if (read.version !== undefined) recurrence.version = read.version;
    result.recurrences.push(recurrence);
  } else {
    oldBuildNs.push(entry.ns);
  }
}
