import type { Options } from "tsup";

/** The shared library build, with package-specific overrides. */
export declare function libraryConfig(overrides?: Options): Options;
