import { Field, Reader, Root, Type, types, type Message } from 'protobufjs';

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

/**
 * Decodes an uncompressed `logproto.PushRequest`. Throws protobufjs errors on malformed input, and
 * an error naming the field when a known field came with another wire type (`checkWireTypes`).
 * Fields of unknown numbers are skipped, as Loki's decoder skips them.
 */
export function decodePushRequest(bytes: Uint8Array): PushRequestMessage {
  const reader = Reader.create(bytes);
  reader.discardUnknown = false; // keep them, on this reader only, for checkWireTypes
  const message = PushRequestType.decode(reader);
  checkWireTypes(message, PushRequestType, '');
  return PushRequestType.toObject(message, { longs: String, defaults: true }) as PushRequestMessage;
}

/**
 * protobufjs takes a known field with the wrong wire type (a `line` sent as a varint) for an
 * unknown field and leaves the field at its default, so the entry would be read as an empty line;
 * Go's protobuf decoder, Loki's, refuses the message ("wrong wireType"). Refuses it likewise,
 * naming the field (`streams[0].entries[1].line`).
 */
function checkWireTypes(message: Message, type: Type, path: string): void {
  const unknowns = (message as Message & { $unknowns?: Uint8Array[] }).$unknowns ?? [];
  for (const raw of unknowns) {
    const tag = Reader.create(raw).uint32();
    const field = type.fieldsById[tag >>> 3];
    if (field !== undefined) {
      const expected = field.resolvedType instanceof Type ? 2 : (types.basic as Record<string, number>)[field.type];
      throw new Error(
        `${path}${field.name} (field ${field.id}) has wire type ${tag & 7}, expected ${expected} (${field.type})`,
      );
    }
  }
  for (const field of type.fieldsArray) {
    const child = field.resolvedType;
    if (!(child instanceof Type)) continue;
    const value = (message as unknown as Record<string, unknown>)[field.name];
    if (field.repeated) {
      ((value as Message[] | undefined) ?? []).forEach((item, i) =>
        checkWireTypes(item, child, `${path}${field.name}[${i}].`),
      );
    } else if (value !== undefined && value !== null) {
      checkWireTypes(value as Message, child, `${path}${field.name}.`);
    }
  }
}

/**
 * Encodes a PushRequest given as a plain object (test senders); `fromObject` converts, so
 * timestamps may be `{ seconds: number | string, nanos }`.
 */
export function encodePushRequest(request: Record<string, unknown>): Uint8Array {
  return PushRequestType.encode(PushRequestType.fromObject(request)).finish();
}
