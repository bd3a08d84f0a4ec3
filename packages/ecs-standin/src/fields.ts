/**
 * Reading request members. A member of the wrong JSON type is a SerializationException, as the JSON 1.1 protocol
 * answers it; a missing or out-of-range value is an InvalidParameterException or ClientException, whichever the
 * operation's documentation names. Every message names the member and the value.
 */
import { EcsError, invalidParameter } from "./errors";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

function typeError(path: string, expected: string, value: unknown): EcsError {
  return new EcsError("SerializationException", `${path}: expected ${expected}, got ${JSON.stringify(value)?.slice(0, 80)}`);
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function optionalString(body: JsonObject, key: string, path = key): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw typeError(path, "a string", value);
  return value;
}

export function requiredString(body: JsonObject, key: string, path = key): string {
  const value = optionalString(body, key, path);
  if (value === undefined || value === "") throw invalidParameter(`${path} is required and must not be empty.`);
  return value;
}

export function optionalInteger(body: JsonObject, key: string, path = key): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) throw typeError(path, "an integer", value);
  return value;
}

export function optionalBoolean(body: JsonObject, key: string, path = key): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw typeError(path, "a boolean", value);
  return value;
}

export function optionalObject(body: JsonObject, key: string, path = key): JsonObject | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw typeError(path, "an object", value);
  return value;
}

export function optionalArray(body: JsonObject, key: string, path = key): Json[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw typeError(path, "a list", value);
  return value;
}

export function stringList(body: JsonObject, key: string, path = key): string[] | undefined {
  const list = optionalArray(body, key, path);
  return list?.map((item, index) => {
    if (typeof item !== "string") throw typeError(`${path}[${index}]`, "a string", item);
    return item;
  });
}

export function objectList(body: JsonObject, key: string, path = key): JsonObject[] | undefined {
  const list = optionalArray(body, key, path);
  return list?.map((item, index) => {
    if (!isObject(item)) throw typeError(`${path}[${index}]`, "an object", item);
    return item;
  });
}

export interface KeyValue {
  name: string;
  value: string;
}

/** `[{name, value}]` lists (environment variables). */
export function keyValueList(body: JsonObject, key: string, path = key): KeyValue[] | undefined {
  return objectList(body, key, path)?.map((item, index) => ({
    name: requiredString(item, "name", `${path}[${index}].name`),
    value: optionalString(item, "value", `${path}[${index}].value`) ?? "",
  }));
}
