/** A real Docker engine for the tests (see README): the lab engine, stand-in images, and a jest helper. */
export { docker, dockerAsync, labEngine, labUnavailableReason, type CommandResult, type LabEngine } from "./engine";
export { ensureImage, STAND_IN } from "./images";
export { describeWithEngine } from "./jest";
