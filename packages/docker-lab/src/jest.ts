import { labEngine, labUnavailableReason } from "./engine";

/** `describe` when a lab engine is here; otherwise `describe.skip`, saying loudly why. */
export function describeWithEngine(title: string, body: () => void): void {
  if (labEngine()) {
    describe(title, body);
    return;
  }
  console.warn(`SKIPPED (no real Docker engine): "${title}": ${labUnavailableReason()}`);
  describe.skip(title, body);
}
