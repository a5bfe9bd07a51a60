import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import {
  DEFAULT_ALERT_FEATURE_LABELS,
  DEFAULT_ALERT_MESSAGE_LABELS,
  DEFAULT_ALERT_SOURCE_LABELS,
} from '../../../src/modules/ingest/ingest-label-defaults';
import { repoRoot } from './workflow-harness';

const grafanaDir = path.join(repoRoot, 'deploy/grafana');
const read = (file: string) => fs.readFileSync(path.join(grafanaDir, file), 'utf8');
const load = <T>(file: string) => parse(read(file)) as T;

/** The parts of Grafana's file-provisioning documents these tests read. */
interface ContactPointsDoc {
  apiVersion: number;
  contactPoints: Array<{
    name: string;
    receivers: Array<{ type: string; settings: Record<string, string | undefined> }>;
  }>;
}
interface PolicyRoute {
  receiver: string;
  object_matchers?: string[][];
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
}
interface PoliciesDoc {
  apiVersion: number;
  policies: Array<PolicyRoute & { routes: PolicyRoute[] }>;
}
interface RuleQuery {
  refId: string;
  datasourceUid: string;
  model: { expr?: string; queryType?: string; expression?: string };
}
interface AlertRule {
  uid: string;
  title: string;
  condition: string;
  data: RuleQuery[];
  noDataState: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface RulesDoc {
  apiVersion: number;
  groups: Array<{ rules: AlertRule[] }>;
}
interface HelmValues {
  env: Record<string, string>;
  envValueFrom: Record<string, { secretKeyRef: { name: string; key: string } }>;
  alerting: { 'contactpoints.yaml': ContactPointsDoc; 'policies.yaml': PoliciesDoc; 'rules.yaml': RulesDoc };
}

function queryOf(rule: AlertRule, refId: string): RuleQuery {
  const query = rule.data.find((d) => d.refId === refId);
  if (!query) throw new Error(`rule ${rule.uid} has no refId ${refId}`);
  return query;
}

/** The labels fixloop's receiver looks at first; the rules must produce exactly these. */
const RESULT_LABELS = [
  DEFAULT_ALERT_SOURCE_LABELS[0],
  DEFAULT_ALERT_FEATURE_LABELS[0],
  DEFAULT_ALERT_MESSAGE_LABELS[0],
];

/** The grouping labels of every `sum by (...)` in a LogQL query. */
function sumByGroupings(logql: string): string[][] {
  return [...logql.matchAll(/\bsum\s+by\s*\(([^)]*)\)/g)].map((m) => m[1].split(',').map((l) => l.trim()));
}

/** Every `count_over_time(<log pipeline> [range] [offset])` body of a LogQL query. */
function logPipelines(logql: string): string[] {
  const out: string[] = [];
  for (const m of logql.matchAll(/count_over_time\(/g)) {
    let depth = 1;
    let i = m.index! + m[0].length;
    const start = i;
    for (; i < logql.length && depth > 0; i++) {
      if (logql[i] === '(') depth++;
      if (logql[i] === ')') depth--;
    }
    out.push(logql.slice(start, i - 1));
  }
  return out;
}

/**
 * Follows one log pipeline and returns the labels a series has after it: the parser's extracted
 * labels and label_format renames/assignments. Only the stages the rules use are understood; any
 * other stage fails the test so this stays honest.
 */
function labelsAfterPipeline(pipeline: string, streamLabels: string[]): Set<string> {
  const withoutRange = pipeline.replace(/\[\d+[smhd]\](\s+offset\s+\d+[smhd])?\s*$/, '').trim();
  const selector = /^\{[^}]*\}/.exec(withoutRange);
  if (!selector) throw new Error(`no stream selector in ${pipeline}`);
  const labels = new Set(streamLabels);
  const stages = withoutRange
    .slice(selector[0].length)
    .split('|')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const stage of stages) {
    let m: RegExpExecArray | null;
    if ((m = /^json\s+(.+)$/.exec(stage))) {
      for (const param of m[1].split(',')) labels.add(/^\s*(\w+)\s*=/.exec(param)![1]);
    } else if ((m = /^label_format\s+(.+)$/.exec(stage))) {
      for (const assignment of m[1].split(',')) {
        const [, dst, src] = /^\s*(\w+)\s*=\s*(\w+)\s*$/.exec(assignment) ?? [];
        if (!dst || !labels.has(src)) throw new Error(`unsupported or dangling label_format ${assignment}`);
        labels.delete(src);
        labels.add(dst);
      }
    } else if (!/^(__error__|\w+)\s*(=|!=|=~|!~)\s*"[^"]*"$/.test(stage)) {
      throw new Error(`unexpected pipeline stage: ${stage}`);
    }
  }
  return labels;
}

/** Undo the Helm `tpl` escaping used in helm-values.yaml ({{`{{ x }}`}} -> {{ x }}). */
function helmTpl(value: unknown): unknown {
  if (typeof value === 'string') {
    // Helm's escaped braces {{`…`}} are set aside (between \u0001 marks) before looking for bare ones.
    const unescaped = value.replace(/\{\{`([^`]*)`\}\}/g, '\u0001$1\u0001');
    if (
      /\{\{|\}\}/.test(
        unescaped
          .split('\u0001')
          .filter((_, i) => i % 2 === 0)
          .join(''),
      )
    ) {
      throw new Error(`unescaped Helm template braces in helm-values.yaml: ${value}`);
    }
    return unescaped.split('\u0001').join('');
  }
  if (Array.isArray(value)) return value.map(helmTpl);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, helmTpl(v)]));
  return value;
}

describe('deploy/grafana provisioning', () => {
  const contactPoints = load<ContactPointsDoc>('contact-points.yaml');
  const policies = load<PoliciesDoc>('notification-policies.yaml');
  const rules = load<RulesDoc>('alert-rules.yaml');
  const allRules = rules.groups.flatMap((g) => g.rules);

  it('uses the provisioning format version 1 in every file', () => {
    for (const doc of [contactPoints, policies, rules]) expect(doc.apiVersion).toBe(1);
  });

  describe('contact point', () => {
    const receiver = contactPoints.contactPoints[0].receivers[0];

    it('posts to fixloop /api/loki/webhook', () => {
      expect(receiver.type).toBe('webhook');
      expect(receiver.settings.httpMethod).toBe('POST');
      const url = new URL(String(receiver.settings.url).replace('${FIXLOOP_URL}', 'https://fixloop.example.com'));
      expect(url.pathname).toBe('/api/loki/webhook');
      expect(url.origin).toBe('https://fixloop.example.com');
    });

    it('authenticates with a bearer secret taken from the environment', () => {
      expect(receiver.settings.authorization_scheme).toBe('Bearer');
      expect(receiver.settings.authorization_credentials).toBe('$FIXLOOP_WEBHOOK_SECRET');
      expect(receiver.settings.username).toBeUndefined();
      expect(receiver.settings.password).toBeUndefined();
    });

    it('documents the optional HMAC signature with Grafana header names', () => {
      const text = read('contact-points.yaml');
      expect(text).toMatch(/#\s+hmacConfig:/);
      expect(text).toMatch(/#\s+header: X-Grafana-Alerting-Signature/);
      expect(text).toMatch(/#\s+timestampHeader: X-Grafana-Alerting-Timestamp/);
    });
  });

  describe('notification policy', () => {
    const route = policies.policies[0].routes.find((r) => r.receiver === contactPoints.contactPoints[0].name)!;

    it('routes fixloop="true" alerts to the fixloop contact point', () => {
      expect(route).toBeDefined();
      expect(route.object_matchers).toEqual([['fixloop', '=', 'true']]);
    });

    it('groups so that each distinct (source, feature, msg) is its own notification', () => {
      expect(route.group_by).toEqual(expect.arrayContaining(RESULT_LABELS));
      for (const key of ['group_wait', 'group_interval', 'repeat_interval'] as const)
        expect(route[key]).toMatch(/^\d+[smh]$/);
    });
  });

  describe('alert rules', () => {
    it('has a new-error rule and a spike rule, all labelled fixloop="true"', () => {
      expect(allRules.map((r) => r.labels.fixloop_rule).sort()).toEqual(['new-error', 'spike']);
      for (const rule of allRules) expect(rule.labels.fixloop).toBe('true');
    });

    it('names the labels of its results as the receiver reads them first', () => {
      expect(RESULT_LABELS).toEqual(['source', 'feature', 'msg']);
    });

    it.each(allRules.map((r) => [r.uid, r] as const))(
      '%s: every aggregation yields exactly source, feature, msg',
      (_uid, rule) => {
        const query = queryOf(rule, 'A').model.expr!;
        const groupings = sumByGroupings(query);
        expect(groupings.length).toBeGreaterThan(0);
        for (const grouping of groupings) expect([...grouping].sort()).toEqual([...RESULT_LABELS].sort());
        // Each grouping label must exist after the log pipeline, or the series would lack it.
        const pipelines = logPipelines(query);
        expect(pipelines.length).toBe(groupings.length);
        for (const pipeline of pipelines) {
          const labels = labelsAfterPipeline(pipeline, ['service_name', 'level']);
          for (const name of RESULT_LABELS) expect(labels.has(name)).toBe(true);
          expect(labels.has('service_name')).toBe(false); // renamed to source
        }
      },
    );

    it.each(allRules.map((r) => [r.uid, r] as const))(
      '%s: is a well-formed Grafana rule with the query in the logql annotation',
      (_uid, rule) => {
        const refIds = rule.data.map((d) => d.refId);
        expect(refIds).toContain(rule.condition);
        const query = queryOf(rule, 'A');
        expect(query.model.queryType).toBe('instant');
        expect(query.datasourceUid).toBe('loki');
        const threshold = queryOf(rule, rule.condition);
        expect(threshold.datasourceUid).toBe('__expr__');
        expect(refIds).toContain(threshold.model.expression);
        expect(rule.annotations.logql).toBe(query.model.expr);
        expect(rule.annotations.summary).toContain('{{ $labels.msg }}');
        expect(rule.noDataState).toBe('OK');
        // Balanced parentheses and braces in the LogQL.
        let depth = 0;
        for (const ch of query.model.expr!) {
          depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
          expect(depth).toBeGreaterThanOrEqual(0);
        }
        expect(depth).toBe(0);
      },
    );

    it('keeps `$` out of everything Grafana would interpolate from the environment', () => {
      for (const rule of allRules) {
        expect(JSON.stringify(rule.labels)).not.toContain('$');
        expect(JSON.stringify(rule.data)).not.toContain('$');
        expect(rule.title).not.toContain('$');
      }
    });
  });

  describe('helm-values.yaml', () => {
    const helm = load<HelmValues>('helm-values.yaml');

    it('holds the same three documents under the chart keys', () => {
      expect(Object.keys(helm.alerting).sort()).toEqual(['contactpoints.yaml', 'policies.yaml', 'rules.yaml']);
      const rendered = helmTpl(helm.alerting) as Record<string, unknown>;
      expect(rendered['contactpoints.yaml']).toEqual(contactPoints);
      expect(rendered['policies.yaml']).toEqual(policies);
      expect(rendered['rules.yaml']).toEqual(rules);
    });

    it('escapes the Grafana template braces that Helm tpl would otherwise evaluate', () => {
      const summaries = helm.alerting['rules.yaml'].groups.flatMap((g) => g.rules.map((r) => r.annotations.summary));
      for (const summary of summaries) expect(summary).toContain('{{`{{ $labels.msg }}`}}');
    });

    it('gives the Grafana pod the environment the contact point refers to', () => {
      expect(helm.env.FIXLOOP_URL).toMatch(/^https:\/\//);
      expect(helm.envValueFrom.FIXLOOP_WEBHOOK_SECRET.secretKeyRef).toEqual({
        name: expect.any(String),
        key: expect.any(String),
      });
    });
  });
});
