/**
 * Images for the spawner's real-engine tests: docker-lab's stand-ins, built from @openhands-team/openhands-fakes
 * (the real OpenHands and agent-server images cannot be pulled here: no registry).
 * - the app: `STAND_IN.app["1.7.0"]`, the OpenHands app fake on port 3000, keeping settings.json under
 *   FILE_STORE_PATH (`/.openhands`, the user's EFS folder), and checking webhooks' session keys through the
 *   user's filtered Docker socket, as OpenHands does;
 * - the agent-server: `STAND_IN.agentServer["1.19.1-python"]` (one tag, as OpenHands needs), `--port 8000`;
 * - `STAND_IN.node` for anything else.
 */
import { ensureImage, STAND_IN } from "@openhands-team/docker-lab";

/** Makes sure the stand-in images exist in the lab engine; returns their references. */
export async function ensureLabImages(): Promise<{ app: string; agentServer: string; node: string }> {
  const node = await ensureImage(STAND_IN.node);
  const app = await ensureImage(STAND_IN.app["1.7.0"]);
  const agentServer = await ensureImage(STAND_IN.agentServer["1.19.1-python"]);
  return { app, agentServer, node };
}
