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

  describe('wire types', () => {
    const entry = encodePushRequest({
      streams: [{ labels: '{app="a"}', entries: [{ timestamp: { seconds: 1, nanos: 0 }, line: 'x' }] }],
    });
    /** `bytes` as a length-delimited field `id`. */
    const field = (id: number, bytes: number[]): number[] => [(id << 3) | 2, bytes.length, ...bytes];

    it('refuses a known field sent with another wire type, naming it, as Go decoders do', () => {
      // an entry whose line (field 2) is the varint 5: protobufjs alone would read it as an empty line
      const lineAsVarint = field(1, field(2, [0x10, 0x05]));
      expect(() => decodePushRequest(Uint8Array.from(lineAsVarint))).toThrow(
        'streams[0].entries[0].line (field 2) has wire type 0, expected 2 (string)',
      );
      expect(() => decodePushRequest(Uint8Array.from([0x08, 0x01]))).toThrow(
        'streams (field 1) has wire type 0, expected 2 (StreamAdapter)',
      );
      const secondsAsBytes = field(1, field(2, field(1, field(1, [0x31]))));
      expect(() => decodePushRequest(Uint8Array.from(secondsAsBytes))).toThrow(
        'streams[0].entries[0].timestamp.seconds (field 1) has wire type 2, expected 0 (int64)',
      );
    });

    it('skips fields of unknown numbers, as Loki does', () => {
      const withUnknown = Uint8Array.from([...entry, 0x58, 0x01, ...field(12, [0x61])]);
      expect(decodePushRequest(withUnknown)).toEqual(decodePushRequest(entry));
    });

    it('refuses truncated varints and lengths', () => {
      expect(() => decodePushRequest(Uint8Array.from([0x0a, 0xff]))).toThrow(/index out of range/);
      expect(() => decodePushRequest(entry.subarray(0, entry.length - 1))).toThrow(/index out of range/);
    });
  });
});
