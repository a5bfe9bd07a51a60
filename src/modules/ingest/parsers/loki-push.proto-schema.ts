import { Field, Root, Type } from 'protobufjs';

/**
 * `logproto.PushRequest` from grafana/loki `pkg/push/push.proto` (Apache-2.0), defined with
 * protobufjs reflection so no `.proto` file has to ship beside the build. Field numbers:
 * PushRequest{streams=1, format=2}; StreamAdapter{labels=1 (Prometheus label-set string),
 * entries=2, hash=3}; EntryAdapter{timestamp=1 (google.protobuf.Timestamp), line=2,
 * structuredMetadata=3, parsed=4}; LabelPairAdapter{name=1, value=2}. The legacy logproto bundled
 * by winston-loki uses the same numbers for fields 1-2, so it decodes with this schema too.
 */
function buildPushRequestType(): Type {
  const root = new Root();
  root
    .define('google.protobuf')
    .add(new Type('Timestamp').add(new Field('seconds', 1, 'int64')).add(new Field('nanos', 2, 'int32')));
  root
    .define('logproto')
    .add(new Type('LabelPairAdapter').add(new Field('name', 1, 'string')).add(new Field('value', 2, 'string')))
    .add(
      new Type('EntryAdapter')
        .add(new Field('timestamp', 1, 'google.protobuf.Timestamp'))
        .add(new Field('line', 2, 'string'))
        .add(new Field('structuredMetadata', 3, 'LabelPairAdapter', 'repeated'))
        .add(new Field('parsed', 4, 'LabelPairAdapter', 'repeated')),
    )
    .add(
      new Type('StreamAdapter')
        .add(new Field('labels', 1, 'string'))
        .add(new Field('entries', 2, 'EntryAdapter', 'repeated'))
        .add(new Field('hash', 3, 'uint64')),
    )
    .add(
      new Type('PushRequest')
        .add(new Field('streams', 1, 'StreamAdapter', 'repeated'))
        .add(new Field('format', 2, 'string')),
    );
  root.resolveAll();
  return root.lookupType('logproto.PushRequest');
}

/** The decoded shape, after `toObject(..., { longs: String, defaults: true })`. */
export interface PushRequestMessage {
  streams: Array<{
    labels: string;
    entries: Array<{
      timestamp?: { seconds: string; nanos: number } | null;
      line: string;
      structuredMetadata: Array<{ name: string; value: string }>;
    }>;
  }>;
  format: string;
}

export const PushRequestType: Type = buildPushRequestType();

/** Decodes an uncompressed `logproto.PushRequest`. Throws protobufjs errors on malformed input. */
export function decodePushRequest(bytes: Uint8Array): PushRequestMessage {
  const message = PushRequestType.decode(bytes);
  return PushRequestType.toObject(message, { longs: String, defaults: true }) as PushRequestMessage;
}

/**
 * Encodes a PushRequest given as a plain object (test senders); `fromObject` converts, so
 * timestamps may be `{ seconds: number | string, nanos }`.
 */
export function encodePushRequest(request: Record<string, unknown>): Uint8Array {
  return PushRequestType.encode(PushRequestType.fromObject(request)).finish();
}
