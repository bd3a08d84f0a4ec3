/** Small readers over synthesized stacks for the main-region tests. */
import type { Json, Synthesized } from "../support/synth";
import type { StackId } from "../../src/config/names";
import { quietInterpolations } from "../../src/policy/graph";

/** The single resource of a type in a stack (fails loudly when there are none or several). */
export function only(synth: Synthesized, stack: StackId, type: string): Json {
  const all = Object.values(synth.resources(stack, type));
  if (all.length !== 1) throw new Error(`expected one ${type} in ${stack}, found ${all.length}`);
  return all[0]!;
}

/** The resource of a type whose cdktf name starts with `prefix`. */
export function named(synth: Synthesized, stack: StackId, type: string, prefix: string): Json {
  const entry = Object.entries(synth.resources(stack, type)).find(([name]) => name.startsWith(prefix));
  if (!entry) throw new Error(`no ${type} named ${prefix}* in ${stack}`);
  return entry[1];
}

/** The statements of a JSON policy string. */
export function statements(policy: string): Json[] {
  return (JSON.parse(quietInterpolations(policy)) as Json).Statement as Json[];
}

/** A statement by Sid. */
export function statement(policy: string, sid: string): Json {
  const found = statements(policy).find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
}
