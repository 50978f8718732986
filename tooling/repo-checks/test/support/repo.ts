import { fileURLToPath } from "node:url";
import { workspacePackages as listPackages } from "../../../scripts/workspace.mjs";

/** The repository root. */
export const root = fileURLToPath(new URL("../../../../", import.meta.url)).replace(/\/$/, "");

/** What a check needs of a package.json. */
export interface Manifest {
  name: string;
  version?: string;
  private?: boolean;
  description?: string;
  keywords?: string[];
  homepage?: string;
  bugs?: { url?: string };
  repository?: { type?: string; url?: string; directory?: string };
  license?: string;
  author?: string;
  files?: string[];
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** A workspace package: its directory and manifest. */
export interface WorkspacePackage {
  dir: string;
  manifest: Manifest;
}

/** Every workspace package (pnpm-workspace.yaml's globs). */
export function workspacePackages(): WorkspacePackage[] {
  return listPackages(root) as WorkspacePackage[];
}

/** The packages that are published (not private). */
export function publishedPackages(): WorkspacePackage[] {
  return workspacePackages().filter((pkg) => pkg.manifest.private !== true);
}
