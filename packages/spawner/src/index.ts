export * from "./backends";
export * from "./config";
export * from "./slug";
export { userSubnet } from "./docker/network";
export { startSpawnerService, type SpawnerService } from "./service";
export { Spawner, CapacityError, BadRequestError } from "./spawner";
