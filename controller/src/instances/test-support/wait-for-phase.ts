import type { Agent } from 'supertest';
import type { Phase } from '../instance-types.js';

/** Polls an instance through the API until it reaches `phase`; fails with what it is instead after `ms`. */
export async function waitForPhase(agent: Pick<Agent, 'get'>, url: string, cookie: string, phase: Phase, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const response = await agent.get(url).set('cookie', cookie);
    if (response.body.phase === phase) return response.body;
    if (Date.now() > deadline)
      throw new Error(`${url} is ${response.body.phase}, not ${phase}: ${JSON.stringify(response.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
