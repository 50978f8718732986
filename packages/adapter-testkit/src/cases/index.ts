import type { CaseDefinition } from "../case.js";
import { abortCases } from "./abort.js";
import { busCases } from "./bus.js";
import { capabilityCases } from "./capabilities.js";
import { contentCases } from "./content.js";
import { cursorCases } from "./cursors.js";
import { dedupCases } from "./dedup.js";
import { errorCases } from "./errors.js";
import { faultCases } from "./faults.js";
import { lifecycleCases } from "./lifecycle.js";
import { persistenceCases } from "./persistence.js";
import { shardListCases } from "./shards.js";
import { streamingCases } from "./streaming.js";
import { visibilityCases } from "./visibility.js";
import { writeCases } from "./write.js";

/** Every case of the suite, in the order they run: cheap contract checks first, the bus last. */
export const ALL_CASES: readonly CaseDefinition[] = [
  ...lifecycleCases,
  ...capabilityCases,
  ...writeCases,
  ...abortCases,
  ...cursorCases,
  ...contentCases,
  ...dedupCases,
  ...errorCases,
  ...persistenceCases,
  ...visibilityCases,
  ...streamingCases,
  ...shardListCases,
  ...faultCases,
  ...busCases,
];
