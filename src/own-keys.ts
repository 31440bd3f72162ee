/**
 * Maps whose keys a user or AWS names (the registry's template ids, regions
 * and architectures; a template's maps; an image's tags) are plain objects,
 * and `map[key]` on a plain object also finds what every object inherits:
 * `templates["constructor"]` is `Object`, `tags["toString"]` a function. A
 * template may well be called `constructor`. So every lookup of such a key
 * goes through `ownValue`, and every insertion through `ownSlot` or
 * `setOwn`, which define the property, so that `__proto__` is a key like any
 * other rather than the object's prototype. Imports nothing.
 */

/** The value stored under `key` itself; undefined when `map` has no such key of its own (whatever it inherits). */
export function ownValue<T>(map: Readonly<Partial<Record<string, T>>> | undefined | null, key: string): T | undefined {
  return map !== undefined && map !== null && Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Store `value` under `key` as an own, enumerable property (`__proto__` included). */
export function setOwn<T>(map: Partial<Record<string, T>>, key: string, value: T): void {
  Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The value stored under `key`, created by `make` and stored first when there is none. */
export function ownSlot<T>(map: Partial<Record<string, T>>, key: string, make: () => T): T {
  const found = ownValue(map, key);
  if (found !== undefined) return found;
  const value = make();
  setOwn(map, key, value);
  return value;
}
