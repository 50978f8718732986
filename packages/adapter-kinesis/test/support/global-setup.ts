import type { TestProject } from "vitest/node";
import { startKinesalite } from "./kinesalite.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The shared kinesalite every test file talks to, `http://127.0.0.1:<port>`. */
    kinesisEndpoint: string;
  }
}

/** Starts one kinesalite for the whole run (in the runner's process, on a free loopback port). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const kinesis = await startKinesalite();
  project.provide("kinesisEndpoint", kinesis.endpoint);
  return () => kinesis.close();
}
