import { createRequire } from 'node:module';

/**
 * Static group membership (KIP-345) for kafkajs. kafkajs 2.2 speaks JoinGroup v5, whose request
 * carries `group.instance.id`, but never fills it in. A member that joins with an instance id the
 * group already knows takes over that member's place and assignment at once, without a rebalance
 * and without waiting for the dead member's session to expire: a process restarted after a kill -9
 * is processing again in the time it takes to start (the same instance id must never run twice at
 * once: the coordinator fences the older one).
 *
 * The JoinGroup request builder of kafkajs' protocol module is wrapped once per process to add the
 * instance id registered for the request's group; groups without one join as dynamic members.
 */
const instanceIds = new Map<string, string>();
let wrapped = false;

export function useStaticMembership(groupId: string, instanceId: string): void {
  wrapJoinGroupOnce();
  instanceIds.set(groupId, instanceId);
}

type JoinGroupArgs = { groupId: string } & Record<string, unknown>;
type JoinGroupModule = { protocol: (o: { version: number }) => (args: JoinGroupArgs) => unknown };

function wrapJoinGroupOnce(): void {
  if (wrapped) return;
  const module = createRequire(import.meta.url)('kafkajs/src/protocol/requests/joinGroup/index.js') as JoinGroupModule;
  if (typeof module.protocol !== 'function') throw new Error('kafkajs internals changed: no JoinGroup protocol builder (static-membership.ts needs kafkajs 2.2)');
  const original = module.protocol;
  module.protocol = ({ version }) => {
    const build = original({ version });
    return (args) => build({ ...args, groupInstanceId: instanceIds.get(args.groupId) ?? null });
  };
  wrapped = true;
}
