import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';

/** True when a Docker engine answers (not just the client binary being installed). */
export async function dockerEngineAnswers(): Promise<boolean> {
  if (!existsSync('/var/run/docker.sock') && !process.env.DOCKER_HOST) return false;
  return new Promise((resolve) => {
    execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 }, (err, stdout) =>
      resolve(!err && stdout.trim().length > 0),
    );
  });
}
