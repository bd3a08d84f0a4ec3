export * from "./backends";
export * from "./config";
export * from "./slug";
export { startSpawnerService, type SpawnerService } from "./service";
export { Spawner, CapacityError, BadRequestError } from "./spawner";
