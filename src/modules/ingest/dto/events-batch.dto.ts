import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsOptional,
  IsString,
  MaxLength,
  registerDecorator,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';

import { EVENTS_BATCH_LIMITS, MIN_EPOCH_MS } from '../parsers/events-batch.parser';

/**
 * OpenAPI/class-validator description of `POST /ingest/events`. `parseEventsBatch` is the
 * authority (it gives path-precise messages and the delivery keys); this DTO documents the same
 * shape and limits, and a spec checks that both accept and reject the same bodies.
 */

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** An ISO-8601 date-time with a zone, or epoch milliseconds. */
function IsEventTimestamp(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isEventTimestamp',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: '$property must be an ISO-8601 date-time with a time zone or epoch milliseconds',
        ...options,
      },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'number'
            ? Number.isFinite(value) && value >= MIN_EPOCH_MS && value <= 8.64e15
            : typeof value === 'string' && ISO_8601.test(value) && Number.isFinite(Date.parse(value)),
      },
    });
}

/** A flat object of string values within the label limits. */
function IsLabelMap(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isLabelMap',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: `$property must be an object of at most ${EVENTS_BATCH_LIMITS.maxLabels} string values`,
        ...options,
      },
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
          const entries = Object.entries(value);
          return (
            entries.length <= EVENTS_BATCH_LIMITS.maxLabels &&
            entries.every(
              ([name, item]) =>
                name !== '' &&
                name.length <= EVENTS_BATCH_LIMITS.maxLabelNameLength &&
                typeof item === 'string' &&
                item.length <= EVENTS_BATCH_LIMITS.maxLabelValueLength,
            )
          );
        },
      },
    });
}

/** A string with at least one non-space character. */
function IsNotBlank(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isNotBlank',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be a non-empty string', ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && value.trim() !== '' },
    });
}

export class IngestEventDto {
  @ApiPropertyOptional({
    description:
      'Client-chosen unique id (e.g. a UUID). Send it to get exactly-once ingestion when a batch is retried: ' +
      'events with the same source and id are stored once. Without it, retries are only deduplicated ' +
      'for events that carry a timestamp.',
    maxLength: EVENTS_BATCH_LIMITS.maxIdLength,
    example: '6f1c2a9e-3a43-4f7e-9a59-1c1f1e0b8d11',
  })
  @IsOptional()
  @IsString()
  @IsNotBlank()
  @MaxLength(EVENTS_BATCH_LIMITS.maxIdLength)
  id?: string;

  @ApiProperty({
    description: 'The service that saw the error.',
    maxLength: EVENTS_BATCH_LIMITS.maxSourceLength,
    example: 'checkout-api',
  })
  @IsString()
  @IsNotBlank()
  @MaxLength(EVENTS_BATCH_LIMITS.maxSourceLength)
  source!: string;

  @ApiProperty({
    description: 'The feature or component inside the service.',
    maxLength: EVENTS_BATCH_LIMITS.maxFeatureLength,
    example: 'orders',
  })
  @IsString()
  @IsNotBlank()
  @MaxLength(EVENTS_BATCH_LIMITS.maxFeatureLength)
  feature!: string;

  @ApiProperty({
    description: 'The error message, raw.',
    maxLength: EVENTS_BATCH_LIMITS.maxMessageLength,
    example: 'Unhandled exception in OrdersController',
  })
  @IsString()
  @IsNotBlank()
  @MaxLength(EVENTS_BATCH_LIMITS.maxMessageLength)
  message!: string;

  @ApiPropertyOptional({ maxLength: EVENTS_BATCH_LIMITS.maxLevelLength, example: 'error' })
  @IsOptional()
  @IsString()
  @IsNotBlank()
  @MaxLength(EVENTS_BATCH_LIMITS.maxLevelLength)
  level?: string;

  @ApiPropertyOptional({
    description: 'When it happened: ISO-8601 with a time zone, or epoch milliseconds. Defaults to the receipt time.',
    oneOf: [
      { type: 'string', format: 'date-time', example: '2026-01-01T12:00:00.000Z' },
      { type: 'number', description: 'epoch milliseconds', minimum: MIN_EPOCH_MS, example: 1767268800000 },
    ],
  })
  @IsOptional()
  @IsEventTimestamp()
  timestamp?: string | number;

  @ApiPropertyOptional({
    description:
      'Flat string labels. A version/commit label (version, app_version, service_version, commit, git_sha, image_tag, ...) ' +
      'records the build that produced the error.',
    type: 'object',
    additionalProperties: { type: 'string', maxLength: EVENTS_BATCH_LIMITS.maxLabelValueLength },
    maxProperties: EVENTS_BATCH_LIMITS.maxLabels,
    example: { env: 'prod', version: '1.4.2' },
  })
  @IsOptional()
  @IsLabelMap()
  labels?: Record<string, string>;

  @ApiPropertyOptional({
    description: 'Stack trace or context excerpt.',
    maxLength: EVENTS_BATCH_LIMITS.maxStackLength,
  })
  @IsOptional()
  @IsString()
  @IsNotBlank()
  @MaxLength(EVENTS_BATCH_LIMITS.maxStackLength)
  stack?: string;
}

export class EventsBatchDto {
  @ApiProperty({ type: [IngestEventDto], maxItems: EVENTS_BATCH_LIMITS.maxEvents })
  @IsArray()
  @ArrayMaxSize(EVENTS_BATCH_LIMITS.maxEvents)
  @ValidateNested({ each: true })
  @Type(() => IngestEventDto)
  events!: IngestEventDto[];
}
