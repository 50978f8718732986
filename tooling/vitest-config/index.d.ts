import type { ViteUserConfig } from "vitest/config";

/** The shared Vitest settings, merged with package-specific overrides. */
export declare function defineNetmeshConfig(overrides?: ViteUserConfig): ViteUserConfig;
