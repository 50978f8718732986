import { describe, expect, it } from "vitest";
import {
  FollowPulls,
  PULL_EXPIRES_MS,
  PULL_HEARTBEAT_MS,
  PULL_RENEW_LEAD_MS,
  PULL_SILENCE_MS,
  pullRequestBody,
} from "../src/follow-pulls.js";

const INBOX = "_INBOX.f";

describe("FollowPulls", () => {
  it("asks again once half a pull or less is owed", () => {
    const pulls = new FollowPulls(INBOX, 100);
    expect(pulls.due(0)).toBe(true);
    expect(pulls.send(0)).toBe(`${INBOX}.1`);
    expect(pulls.due(1)).toBe(false);
    for (let i = 0; i < 49; i++) pulls.delivered();
    expect(pulls.due(2)).toBe(false);
    pulls.delivered();
    expect(pulls.asked).toBe(50);
    expect(pulls.due(3)).toBe(true);
  });

  it("counts what a 408 says the server still owed, whichever pull the messages went to", () => {
    // The server fills open pulls round-robin: 60 messages went 30 and 30 to the two pulls.
    const pulls = new FollowPulls(INBOX, 100);
    pulls.send(0);
    for (let i = 0; i < 50; i++) pulls.delivered();
    pulls.send(1);
    for (let i = 0; i < 60; i++) pulls.delivered();
    expect(pulls.asked).toBe(90);
    expect(pulls.ended(`${INBOX}.1`, "20")).toBe(true);
    expect(pulls.asked).toBe(70); // the second pull: 100 − 30
    // Refused before it waited (no pending header): its whole batch is given back.
    pulls.send(2);
    expect(pulls.ended(`${INBOX}.3`, undefined)).toBe(true);
    expect(pulls.asked).toBe(70);
    expect(pulls.ended("_INBOX.other.1", "5")).toBe(false);
    expect(pulls.ended(`${INBOX}.x`, "5")).toBe(false);
    expect(pulls.asked).toBe(70);
  });

  it("renews the youngest pull before it expires, and wakes the follower for it", () => {
    const pulls = new FollowPulls(INBOX, 100);
    pulls.send(1_000);
    pulls.heard(1_000 + PULL_EXPIRES_MS); // heard all along: only the renewal is due
    const renewAt = 1_000 + PULL_EXPIRES_MS - PULL_RENEW_LEAD_MS;
    expect(pulls.due(renewAt - 1)).toBe(false);
    expect(pulls.due(renewAt)).toBe(true);
    expect(pulls.nextCheck()).toBe(renewAt);
    pulls.send(renewAt);
    expect(pulls.due(renewAt + 1)).toBe(false);
    // The first pull is forgotten once expired; its 408 still counts when it comes.
    pulls.expire(1_000 + PULL_EXPIRES_MS);
    expect(pulls.ended(`${INBOX}.1`, "100")).toBe(true);
    expect(pulls.asked).toBe(100);
  });

  it("is silent when messages are owed and nothing came for two heartbeats; a cleared pull no longer counts", () => {
    const pulls = new FollowPulls(INBOX, 100);
    pulls.send(0);
    expect(PULL_SILENCE_MS).toBeGreaterThan(2 * PULL_HEARTBEAT_MS);
    expect(pulls.nextCheck()).toBe(PULL_SILENCE_MS);
    expect(pulls.silent(PULL_SILENCE_MS - 1)).toBe(false);
    pulls.heard(300);
    expect(pulls.silent(PULL_SILENCE_MS)).toBe(false);
    expect(pulls.silent(300 + PULL_SILENCE_MS)).toBe(true);
    pulls.clear();
    expect(pulls.asked).toBe(0);
    expect(pulls.silent(10_000)).toBe(false);
    expect(pulls.isCounted(`${INBOX}.1`)).toBe(false);
    expect(pulls.ended(`${INBOX}.1`, "100")).toBe(false);
    expect(pulls.send(10_000)).toBe(`${INBOX}.2`);
    expect(pulls.isCounted(`${INBOX}.2`)).toBe(true);
  });

  it("asks the server for heartbeats it accepts (at most half the expiry)", () => {
    const body = JSON.parse(pullRequestBody(512)) as Record<string, number>;
    expect(body).toEqual({
      batch: 512,
      expires: PULL_EXPIRES_MS * 1e6,
      idle_heartbeat: PULL_HEARTBEAT_MS * 1e6,
    });
    expect(body.idle_heartbeat! * 2).toBeLessThanOrEqual(body.expires!);
  });
});
