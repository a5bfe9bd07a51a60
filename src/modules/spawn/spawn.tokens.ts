/** DI token of the spawn module's GitHubWorkflowClient (built from the config). */
export const GITHUB_WORKFLOW_CLIENT = Symbol('GITHUB_WORKFLOW_CLIENT');
/** DI token of the sleep the dispatcher waits with between retries (tests may shorten it). */
export const SPAWN_SLEEP = Symbol('SPAWN_SLEEP');
export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
