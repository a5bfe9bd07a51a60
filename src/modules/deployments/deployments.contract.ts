/** Shared with the github module: how a GitHub deployment is keyed in `deployments.external_id`. */

/** The external id of a GitHub deployment: `owner/repo/<deployment id>`. */
export function githubDeploymentKey(owner: string, repo: string, deploymentId: number): string {
  return `${owner}/${repo}/${deploymentId}`;
}

/** The repository of a GitHub deployment key, or null for other keys. */
export function repoOfGithubDeploymentKey(key: string): string | null {
  const m = /^([^/]+)\/([^/]+)\/\d+$/.exec(key);
  return m ? `${m[1]}/${m[2]}` : null;
}
