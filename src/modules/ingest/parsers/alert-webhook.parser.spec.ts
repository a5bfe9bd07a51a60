import { clone, readLocalJson, readSharedJson } from '../../../../test/fixtures/ingest/shared-fixtures';
import {
  DEFAULT_ALERT_FEATURE_LABELS,
  DEFAULT_ALERT_MESSAGE_LABELS,
  DEFAULT_ALERT_SOURCE_LABELS,
  DEFAULT_FEATURE,
} from '../ingest-label-defaults';
import { IngestInputError } from '../ingest.errors';
import {
  alertCount,
  COUNT_REF_ANNOTATION,
  MAX_OBSERVATION_COUNT,
  parseAlertWebhook,
  parseValueString,
  type AlertWebhookOptions,
} from './alert-webhook.parser';
import { UNKNOWN_SOURCE } from './observation';

// Fixtures are edited freely, including into invalid shapes, to build test payloads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const receivedAt = new Date('2026-11-26T06:00:00Z');
const opts: AlertWebhookOptions = {
  sourceLabels: DEFAULT_ALERT_SOURCE_LABELS,
  featureLabels: DEFAULT_ALERT_FEATURE_LABELS,
  messageLabels: DEFAULT_ALERT_MESSAGE_LABELS,
  receivedAt,
};

const grafana = (name: string): Json => readSharedJson<Json>('grafana', name);
const alertmanager = (): Json => readSharedJson<Json>('alertmanager', 'zulip-alertmanager-firing-2alerts.json');

function parseError(body: unknown): IngestInputError {
  try {
    parseAlertWebhook(body, opts);
  } catch (error) {
    if (error instanceof IngestInputError) return error;
    throw error;
  }
  throw new Error('expected an IngestInputError');
}

describe(parseAlertWebhook.name, () => {
  describe('Grafana (version "1")', () => {
    it('parses the docs example with two firing alerts and values', () => {
      const result = parseAlertWebhook(grafana('grafana-docs-webhook-firing-2alerts.json'), opts);

      expect(result.kind).toBe('grafana');
      expect(result.truncatedAlerts).toBe(0);
      expect(result.receiver).toBe('My Super Webhook');
      expect(result.groupKey).toBe('{}:{}');
      expect(result.observations).toHaveLength(2);
      const [first, second] = result.observations;
      expect(first).toMatchObject({
        kind: 'grafana',
        source: UNKNOWN_SOURCE,
        feature: DEFAULT_FEATURE,
        message: 'This alert was triggered for zone us-1',
        occurredAt: new Date('2021-10-12T07:51:03.157Z'),
        count: 44,
        labels: { alertname: 'High memory usage', team: 'blue', zone: 'us-1' },
        status: 'firing',
      });
      expect(first.synthetic).toBeUndefined();
      expect(first.version).toBeUndefined();
      expect(second.message).toBe('This alert was triggered for zone eu-1');
      expect(first.deliveryKey).toMatch(/^grafana:[0-9a-f]{64}$/);
      expect(first.deliveryKey).not.toBe(second.deliveryKey);
    });

    it('parses the Grafana 11 capture: values with a non-refId key and image fields', () => {
      const [observation] = parseAlertWebhook(grafana('zulip-grafana11-firing-values.json'), opts).observations;

      expect(observation).toMatchObject({
        message: 'High memory usage',
        occurredAt: new Date('2024-03-01T02:09:00Z'),
        // A memory gauge is not a count: the largest non-0/1 value, clamped to an int4.
        count: MAX_OBSERVATION_COUNT,
        status: 'firing',
      });
      expect(observation.labels.grafana_folder).toBe('device');
    });

    it('uses a configured refId as the count when present', () => {
      const body = grafana('zulip-grafana11-firing-values.json');
      const [observation] = parseAlertWebhook(body, { ...opts, countRefIds: ['minute', 'B'] }).observations;
      expect(observation.count).toBe(9);
    });

    it("counts the refId the rule's fixloop_count_ref annotation names; `none` or a missing refId counts 1", () => {
      const withRef = (ref: string) => {
        const body = grafana('zulip-grafana11-firing-values.json') as {
          alerts: { annotations: Record<string, string> }[];
        };
        body.alerts[0].annotations = { ...body.alerts[0].annotations, [COUNT_REF_ANNOTATION]: ref };
        return parseAlertWebhook(body, { ...opts, countRefIds: ['minute'] }).observations[0].count;
      };
      expect(withRef('minute')).toBe(9);
      expect(withRef(' none ')).toBe(1); // a memory gauge (A = 2473545728 bytes) is no count
      expect(withRef('Z')).toBe(1);
      // without the annotation: the configured refIds, then the largest value that is no 0/1 condition
      expect(parseAlertWebhook(grafana('zulip-grafana11-firing-values.json'), opts).observations[0].count).toBe(
        2147483647,
      );
    });

    it('parses the Grafana 9 resolved capture: valueString only, resolved status', () => {
      const result = parseAlertWebhook(grafana('zulip-grafana9-resolved.json'), opts);
      const [observation] = result.observations;

      expect(observation).toMatchObject({
        status: 'resolved',
        message: 'This is a summary field, failure on <no value>',
        count: 24,
        occurredAt: new Date('2022-06-17T00:41:00.782Z'),
        endedAt: new Date('2022-06-17T00:51:24.067Z'),
      });
    });

    it("takes endedAt from endsAt only for a resolved alert, never from Go's zero time", () => {
      const body = grafana('zulip-grafana9-resolved.json') as { alerts: Record<string, unknown>[] };
      body.alerts[0].endsAt = '0001-01-01T00:00:00Z';
      expect(parseAlertWebhook(body, opts).observations[0].endedAt).toBeUndefined();
      const [firing] = parseAlertWebhook(grafana('grafana-docs-webhook-firing-2alerts.json'), opts).observations;
      expect(firing.endedAt).toBeUndefined();
    });

    it('handles the unit-test payload: values null, empty valueString, zero startsAt', () => {
      const [observation] = parseAlertWebhook(
        grafana('grafana-alerting-unit-default-payload-template.json'),
        opts,
      ).observations;

      expect(observation).toMatchObject({
        message: 'alert1',
        count: 1,
        occurredAt: receivedAt,
        labels: { alertname: 'alert1', lbl1: 'val1' },
      });
    });

    it('falls back to valueString when values is empty', () => {
      const body = readSharedJson<Json>('grafana', 'derived', 'DERIVED-grafana12-loki-rule-firing.json');
      body.alerts[0].values = {};
      expect(parseAlertWebhook(body, opts).observations[0].count).toBe(37);
    });

    it('maps Loki-rule labels to source, level and count (derived Grafana 12 payload)', () => {
      const body = readSharedJson<Json>('grafana', 'derived', 'DERIVED-grafana12-loki-rule-firing.json');
      const [observation] = parseAlertWebhook(body, opts).observations;

      expect(observation).toMatchObject({
        source: 'checkout-api',
        feature: DEFAULT_FEATURE,
        message: "37 'Unhandled exception in OrdersController' log lines in 5m for checkout-api",
        level: 'critical',
        count: 37,
        occurredAt: new Date('2026-01-01T00:05:00Z'),
      });
    });

    it('takes source, feature and message from labels before annotations', () => {
      const body = grafana('grafana-docs-webhook-firing-2alerts.json');
      body.alerts[0].labels = { alertname: 'X', app: 'label-app', feature: 'checkout' };
      body.alerts[0].annotations = { source: 'annotation-source', message: 'Boom in checkout', summary: 's' };

      const [observation] = parseAlertWebhook(body, opts).observations;
      expect(observation).toMatchObject({ source: 'label-app', feature: 'checkout', message: 'Boom in checkout' });
    });

    it('falls back to the description annotation, then alertname, for the message', () => {
      const body = grafana('grafana-docs-webhook-firing-2alerts.json');
      delete body.alerts[0].annotations.summary;
      body.alerts[1].annotations = {};

      const [first, second] = parseAlertWebhook(body, opts).observations;
      expect(first.message).toBe('The system has high memory usage');
      expect(second.message).toBe('High CPU usage');
    });

    it('extracts the build version and a stack annotation', () => {
      const body = grafana('grafana-docs-webhook-firing-2alerts.json');
      body.alerts[0].labels.service_version = '1.4.2';
      body.alerts[0].annotations.stacktrace = 'Error: boom\n    at f (a.js:1:1)';
      body.alerts[1].annotations.git_sha = 'abc123';

      const [first, second] = parseAlertWebhook(body, opts).observations;
      expect(first.version).toBe('1.4.2');
      expect(first.stack).toBe('Error: boom\n    at f (a.js:1:1)');
      expect(second.version).toBe('abc123');
    });

    it('marks DatasourceNoData and DatasourceError as synthetic', () => {
      const body = grafana('grafana-docs-webhook-firing-2alerts.json');
      body.alerts[0].labels = {
        alertname: 'DatasourceNoData',
        datasource_uid: 'loki',
        ref_id: 'A',
        rulename: 'Orders',
      };
      body.alerts[1].labels = { alertname: 'DatasourceError', datasource_uid: 'loki', ref_id: 'A', rulename: 'Orders' };

      const [noData, error] = parseAlertWebhook(body, opts).observations;
      expect(noData.synthetic).toBe('DatasourceNoData');
      expect(error.synthetic).toBe('DatasourceError');
    });

    it('parses a mixed group: top-level firing with one resolved alert', () => {
      const result = parseAlertWebhook(readLocalJson('grafana-mixed-firing-resolved.json'), opts);

      expect(result.observations.map((o) => [o.status, o.count])).toEqual([
        ['firing', 44],
        ['resolved', 24],
      ]);
    });
  });

  describe('Alertmanager (version "4")', () => {
    it('parses the captured payload with two firing alerts', () => {
      const result = parseAlertWebhook(alertmanager(), opts);

      expect(result.kind).toBe('alertmanager');
      expect(result.truncatedAlerts).toBe(0);
      expect(result.observations).toHaveLength(2);
      expect(result.observations[0]).toMatchObject({
        kind: 'alertmanager',
        source: UNKNOWN_SOURCE,
        message: 'High CPU core temperature',
        level: 'critical',
        count: 1,
        status: 'firing',
        occurredAt: new Date('2020-02-06T00:17:58.432Z'),
      });
      expect(result.observations[0].deliveryKey).toMatch(/^alertmanager:[0-9a-f]{64}$/);
      expect(result.observations[0].deliveryKey).not.toBe(result.observations[1].deliveryKey);
    });

    it('parses a mixed group and surfaces truncatedAlerts', () => {
      const result = parseAlertWebhook(readLocalJson('alertmanager-mixed-firing-resolved-truncated.json'), opts);

      expect(result.truncatedAlerts).toBe(3);
      expect(result.observations.map((o) => o.status)).toEqual(['firing', 'resolved']);
    });

    it('takes the source from the job label', () => {
      const body = alertmanager();
      body.alerts[0].labels.job = 'node-exporter';
      expect(parseAlertWebhook(body, opts).observations[0].source).toBe('node-exporter');
    });
  });

  describe('delivery keys', () => {
    it('gives a retry (same bytes re-parsed, keys reordered) the same key', () => {
      const first = parseAlertWebhook(grafana('grafana-docs-webhook-firing-2alerts.json'), opts);
      const retry = grafana('grafana-docs-webhook-firing-2alerts.json');
      retry.alerts[0].values = { C: 1, B: 44.23943737541908 };
      retry.alerts[0].labels = { zone: 'us-1', team: 'blue', alertname: 'High memory usage' };

      const again = parseAlertWebhook(retry, { ...opts, receivedAt: new Date() });
      expect(again.observations.map((o) => o.deliveryKey)).toEqual(first.observations.map((o) => o.deliveryKey));
    });

    it('gives both members of an HA pair the same key even with different receivers and group fields', () => {
      const one = alertmanager();
      const two = clone(one);
      two.receiver = 'other-receiver';
      two.externalURL = 'http://ops2:9093';
      two.groupKey = '{}/{}:{alertname="High CPU Temperature"}';

      expect(parseAlertWebhook(two, opts).observations.map((o) => o.deliveryKey)).toEqual(
        parseAlertWebhook(one, opts).observations.map((o) => o.deliveryKey),
      );
    });

    it('uses the sorted label set when the fingerprint is absent', () => {
      const one = alertmanager();
      delete one.alerts[0].fingerprint;
      delete one.alerts[1].fingerprint;
      const two = clone(one);
      two.alerts[0].labels = { severity: 'critical', host: 'andromeda', alertname: 'High CPU Temperature' };

      const [a0, a1] = parseAlertWebhook(one, opts).observations;
      const [b0] = parseAlertWebhook(two, opts).observations;
      expect(a0.deliveryKey).toBe(b0.deliveryKey);
      // Same labels, same startsAt, no fingerprint: the same alert instance.
      expect(a0.deliveryKey).toBe(a1.deliveryKey);
    });

    it('changes the key when the status, startsAt, values or valueString change', () => {
      const base = grafana('zulip-grafana11-firing-values.json');
      const key = (body: Json): string => parseAlertWebhook(body, opts).observations[0].deliveryKey;
      const original = key(base);

      const resolved = clone(base);
      resolved.alerts[0].status = 'resolved';
      const restarted = clone(base);
      restarted.alerts[0].startsAt = '2024-03-01T03:09:00Z';
      const reevaluated = clone(base);
      reevaluated.alerts[0].values.A = 1;
      const g9 = grafana('zulip-grafana9-resolved.json');
      const g9Changed = clone(g9);
      g9Changed.alerts[0].valueString = g9Changed.alerts[0].valueString.replace('value=24', 'value=25');

      expect(new Set([original, key(resolved), key(restarted), key(reevaluated)]).size).toBe(4);
      expect(key(g9)).not.toBe(key(g9Changed));
    });

    it('does not collide between Grafana and Alertmanager for the same fingerprint', () => {
      const am = alertmanager();
      const gr = clone(am);
      gr.version = '1';
      expect(parseAlertWebhook(gr, opts).observations[0].deliveryKey).not.toBe(
        parseAlertWebhook(am, opts).observations[0].deliveryKey,
      );
    });
  });

  describe('validation', () => {
    it.each([
      [null, 'body must be a JSON object (got null)'],
      [[], 'body must be a JSON object (got array)'],
      ['x', 'body must be a JSON object (got string)'],
    ])('rejects a body that is not an object: %j', (body, message) => {
      const error = parseError(body);
      expect(error.code).toBe('INGEST_INVALID_PAYLOAD');
      expect(error.message).toBe(message);
    });

    it('rejects an unknown version, naming it', () => {
      const body = alertmanager();
      body.version = '5';
      const error = parseError(body);
      expect(error.code).toBe('INGEST_UNSUPPORTED_VERSION');
      expect(error.message).toBe(
        'version "5" is not supported: expected "1" (Grafana unified alerting) or "4" (Alertmanager)',
      );
    });

    it('rejects a numeric version and a missing version as unsupported', () => {
      const numeric = alertmanager();
      numeric.version = 4;
      expect(parseError(numeric)).toMatchObject({ code: 'INGEST_UNSUPPORTED_VERSION', path: 'version' });
      expect(parseError(numeric).message).toContain('version 4 is not supported');

      const missing = alertmanager();
      delete missing.version;
      expect(parseError(missing).message).toMatch(/^version is missing/);
    });

    it('rejects a missing alerts array', () => {
      const body = alertmanager();
      delete body.alerts;
      expect(parseError(body)).toMatchObject({
        code: 'INGEST_INVALID_PAYLOAD',
        message: 'alerts must be an array of alerts (got undefined)',
        path: 'alerts',
      });
    });

    it('rejects an alert that is not an object', () => {
      const body = alertmanager();
      body.alerts.push('nope');
      expect(parseError(body).message).toBe('alerts[2] must be an object (got string)');
    });

    it('rejects labels that are not a string map, naming the key', () => {
      const body = alertmanager();
      body.alerts[1].labels.cpu = 3;
      expect(parseError(body)).toMatchObject({
        message: 'alerts[1].labels.cpu must be a string (got number)',
        path: 'alerts[1].labels.cpu',
      });

      const missing = alertmanager();
      delete missing.alerts[0].labels;
      expect(parseError(missing).message).toBe(
        'alerts[0].labels is required and must be an object of string values (got undefined)',
      );

      const odd = alertmanager();
      odd.alerts[0].labels = { 'app.kubernetes.io/name': ['x'] };
      expect(parseError(odd).message).toBe('alerts[0].labels["app.kubernetes.io/name"] must be a string (got array)');
    });

    it('rejects annotations that are not a string map', () => {
      const body = alertmanager();
      body.alerts[0].annotations = 'x';
      expect(parseError(body).message).toBe('alerts[0].annotations must be an object of string values (got string)');
    });

    it('rejects a bad alert status', () => {
      const body = alertmanager();
      body.alerts[0].status = 'pending';
      expect(parseError(body).message).toBe('alerts[0].status must be "firing" or "resolved" (got "pending")');
    });

    it('rejects a non-string startsAt, values of the wrong type and a bad truncatedAlerts', () => {
      const startsAt = alertmanager();
      startsAt.alerts[0].startsAt = 12;
      expect(parseError(startsAt).message).toBe('alerts[0].startsAt must be a string (got number)');

      const values = grafana('grafana-docs-webhook-firing-2alerts.json');
      values.alerts[1].values = [1, 2];
      expect(parseError(values).message).toBe('alerts[1].values must be an object of numbers or null (got array)');

      const truncated = alertmanager();
      truncated.truncatedAlerts = -1;
      expect(parseError(truncated).message).toBe('truncatedAlerts must be a non-negative integer (got -1)');
    });

    it('rejects an alert with nothing to call it by', () => {
      const body = alertmanager();
      body.alerts[0].labels = { host: 'a' };
      body.alerts[0].annotations = {};
      expect(parseError(body).message).toMatch(/^alerts\[0\]\.labels must contain alertname/);
    });

    it('accepts an empty alerts array', () => {
      const body = alertmanager();
      body.alerts = [];
      expect(parseAlertWebhook(body, opts).observations).toEqual([]);
    });
  });
});

describe(parseValueString.name, () => {
  it('parses Grafana 9/10 valueString entries', () => {
    expect(
      parseValueString(
        "[ var='A' labels={instance=node_exporter:9100, job=node} value=2.473545728e+09 ], [ var='B' labels={instance=node_exporter:9100, job=node} value=0 ], [ var='C' labels={} value=1 ], [ var='minute' labels={} value=9 ]",
      ),
    ).toEqual({ A: 2473545728, B: 0, C: 1, minute: 9 });
  });

  it('parses the metric= form, a label named value, and skips non-numeric values', () => {
    expect(
      parseValueString(
        "[ var='B0' metric='Value' labels={__name__=rabbitmq_queues, value=7} value=24 ], [ var='X' labels={} value=<nil> ]",
      ),
    ).toEqual({ B0: 24 });
  });

  it('returns nothing for an empty or free-form string', () => {
    expect(parseValueString('')).toEqual({});
    expect(parseValueString('[no value]')).toEqual({});
  });
});

describe(alertCount.name, () => {
  it('is 1 without values', () => {
    expect(alertCount(undefined, [])).toBe(1);
    expect(alertCount({}, [])).toBe(1);
  });

  it('uses the largest value that is not a 0/1 condition result, rounded', () => {
    expect(alertCount({ A: 37, C: 1 }, [])).toBe(37);
    expect(alertCount({ B: 44.6, C: 1 }, [])).toBe(45);
    expect(alertCount({ A: 0.2, C: 1 }, [])).toBe(1);
    expect(alertCount({ A: -5, C: 0 }, [])).toBe(1);
    expect(alertCount({ A: 1, C: 1 }, [])).toBe(1);
  });

  it('prefers configured refIds and clamps to the integer range', () => {
    expect(alertCount({ A: 500, B: 12, C: 1 }, ['B'])).toBe(12);
    expect(alertCount({ A: 500, C: 1 }, ['B'])).toBe(500);
    expect(alertCount({ A: 1e12 }, [])).toBe(MAX_OBSERVATION_COUNT);
  });
});
