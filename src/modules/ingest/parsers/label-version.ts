/**
 * Label names that carry the build version or commit of the code that produced an observation, in
 * priority order. Dotted OpenTelemetry names are included because Loki structured metadata and
 * event labels may keep them.
 */
export const DEFAULT_VERSION_LABELS = [
  'version',
  'app_version',
  'service_version',
  'service.version',
  'build_version',
  'commit',
  'commit_sha',
  'git_sha',
  'git_commit',
  'image_tag',
] as const;

const MAX_VERSION_LENGTH = 200;

/**
 * The first non-blank value of `names` found in `sources`. Maps are searched in priority order (e.g.
 * alert labels before annotations, Loki stream labels before structured metadata), and within a map
 * the names in priority order. Values are trimmed; over-long values (> 200 chars) are ignored as
 * they are not a version.
 */
export function extractVersion(
  sources: ReadonlyArray<Readonly<Record<string, string>> | undefined>,
  names: readonly string[] = DEFAULT_VERSION_LABELS,
): string | undefined {
  for (const source of sources) {
    for (const name of names) {
      const value = source?.[name];
      if (typeof value !== 'string') continue;
      const trimmed = value.trim();
      if (trimmed !== '' && trimmed.length <= MAX_VERSION_LENGTH) return trimmed;
    }
  }
  return undefined;
}
