import { ValidateIf } from 'class-validator';

/**
 * An optional property that may be left out but not sent as null: unlike `@IsOptional()`, which
 * lets null through unchecked, null meets the property's validators and is refused with a message
 * naming it. For properties the service takes as given whenever they are not undefined
 * (`"title": null` reached the database and answered 500).
 */
export function IsOmittable(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}
