import { Transform } from 'class-transformer';
import { IsDate, ValidateIf, isISO8601 } from 'class-validator';

/**
 * An optional property that may be left out but not sent as null: unlike `@IsOptional()`, which
 * lets null through unchecked, null meets the property's validators and is refused with a message
 * naming it. For properties the service takes as given whenever they are not undefined
 * (`"title": null` reached the database and answered 500).
 */
export function IsOmittable(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

/**
 * A date-time property: an ISO 8601 string becomes a Date, anything else is refused naming the
 * property. `@Type(() => Date)` made a Date of whatever came (`true`, `0`, `-1`, `"5"`: 1970 or
 * 2005) and the request was accepted with a date nobody sent.
 */
export function IsDateTime(): PropertyDecorator {
  const toDate = Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && isISO8601(value, { strict: true }) ? new Date(value) : value,
  );
  const isDate = IsDate({ message: ({ property }) => `${property} must be an ISO 8601 date-time` });
  return (target, key) => {
    toDate(target, key);
    isDate(target, key);
  };
}
