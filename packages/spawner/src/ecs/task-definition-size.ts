/**
 * Fargate task sizes: which task-level memory values go with each CPU value (ECS Developer Guide, "Task definition
 * parameters for Fargate", the task size table). ECS refuses any other pair at RegisterTaskDefinition; the spawner's
 * configuration refuses it at start instead, with the values that would fit.
 */

/** CPU units to the memory values (MiB) Fargate allows with them. */
export const FARGATE_SIZES: ReadonlyArray<readonly [number, readonly number[]]> = [
  [256, [512, 1024, 2048]],
  [512, steps(1024, 4096, 1024)],
  [1024, steps(2048, 8192, 1024)],
  [2048, steps(4096, 16384, 1024)],
  [4096, steps(8192, 30720, 1024)],
  [8192, steps(16384, 61440, 4096)],
  [16384, steps(32768, 122880, 8192)],
];

function steps(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += step) values.push(value);
  return values;
}

/** Why `cpu` units with `memoryMiB` is not a Fargate size, naming what would be; undefined when it is one. */
export function fargateSizeProblem(cpu: number, memoryMiB: number): string | undefined {
  const row = FARGATE_SIZES.find(([units]) => units === cpu);
  if (!row) return `${cpu} CPU units is not a Fargate task size (expected one of ${FARGATE_SIZES.map(([units]) => units).join(", ")})`;
  const [, memories] = row;
  if (memories.includes(memoryMiB)) return undefined;
  const first = memories[0];
  const last = memories[memories.length - 1];
  const step = memories.length > 1 ? memories[1]! - first! : 0;
  return (
    `${memoryMiB} MiB is not a Fargate memory size for ${cpu} CPU units ` +
    `(expected ${memories.length <= 3 ? memories.join(", ") : `${first} to ${last} in steps of ${step}`} MiB)`
  );
}
