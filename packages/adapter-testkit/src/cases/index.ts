import type { CaseDefinition } from "../case.js";
import { busCases } from "./bus.js";
import { contentCases } from "./content.js";
import { cursorCases } from "./cursors.js";
import { dedupCases } from "./dedup.js";
import { errorCases } from "./errors.js";
import { lifecycleCases } from "./lifecycle.js";
import { persistenceCases } from "./persistence.js";
import { writeCases } from "./write.js";

/** Every case of the suite, in the order they run: cheap contract checks first, the bus last. */
export const ALL_CASES: readonly CaseDefinition[] = [
  ...lifecycleCases,
  ...writeCases,
  ...cursorCases,
  ...contentCases,
  ...dedupCases,
  ...errorCases,
  ...persistenceCases,
  ...busCases,
];
