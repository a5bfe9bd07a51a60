import { parse, type Type } from 'protobufjs';

import { readSharedBytes } from '../../../../test/fixtures/ingest/shared-fixtures';
import { decodePushRequest, encodePushRequest, PushRequestType } from './loki-push.proto-schema';

const MESSAGES = ['PushRequest', 'StreamAdapter', 'EntryAdapter', 'LabelPairAdapter'] as const;

const shape = (type: Type): Array<[string, number, string, boolean]> =>
  type.fieldsArray.map((field) => [field.name, field.id, field.type, field.repeated]);

describe('logproto.PushRequest schema', () => {
  it('matches every message of grafana/loki pkg/push/push.proto field for field', () => {
    const upstream = parse(readSharedBytes('loki', 'push', 'push.proto').toString('utf8'), { keepCase: true }).root;
    const ours = PushRequestType.root;
    for (const name of MESSAGES) {
      expect([name, shape(ours.lookupType(`logproto.${name}`))]).toEqual([
        name,
        shape(upstream.lookupType(`logproto.${name}`)),
      ]);
    }
  });

  it('round-trips a request with 64-bit seconds as strings', () => {
    const request = {
      streams: [
        {
          labels: '{app="a"}',
          entries: [
            {
              timestamp: { seconds: '9223372036', nanos: 854775807 },
              line: 'x',
              structuredMetadata: [{ name: 'k', value: 'v' }],
            },
          ],
        },
      ],
    };
    const decoded = decodePushRequest(encodePushRequest(request));
    expect(decoded.streams[0].entries[0]).toMatchObject({
      timestamp: { seconds: '9223372036', nanos: 854775807 },
      line: 'x',
      structuredMetadata: [{ name: 'k', value: 'v' }],
    });
    expect(decoded.format).toBe('');
  });
});
