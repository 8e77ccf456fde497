// ECS reads the views share: every cluster, every service of a cluster, tasks with their definitions.
import { ecs, listAll, describeVisible, pooled } from './api.js';

export async function clusters() {
  const arns = await listAll('ListClusters', {}, 'clusterArns');
  return describeVisible(arns, 100, async (batch) =>
    (await ecs('DescribeClusters', { clusters: batch, include: ['STATISTICS'] })).clusters || []);
}

/** The services of one cluster the caller may see (a narrow policy sees only its own). */
export async function services(cluster) {
  let arns;
  try {
    arns = await listAll('ListServices', { cluster }, 'serviceArns');
  } catch (e) {
    if (e.denied) return [];
    throw e;
  }
  return describeVisible(arns, 10, async (batch) =>
    (await ecs('DescribeServices', { cluster, services: batch })).services || []);
}

/** Tasks of a cluster (optionally one service), running and recently stopped. */
export async function tasks(cluster, { serviceName, stopped = true } = {}) {
  const filter = { cluster, ...(serviceName ? { serviceName } : {}) };
  const lists = [listAll('ListTasks', { ...filter, desiredStatus: 'RUNNING' }, 'taskArns')];
  if (stopped) lists.push(listAll('ListTasks', { ...filter, desiredStatus: 'STOPPED' }, 'taskArns'));
  const arns = [...new Set((await Promise.all(lists)).flat())];
  return describeVisible(arns, 100, async (batch) => (await ecs('DescribeTasks', { cluster, tasks: batch })).tasks || []);
}

const definitions = new Map();
/** A task definition, cached: revisions never change once registered. */
export async function taskDefinition(arn) {
  if (!definitions.has(arn)) {
    definitions.set(arn, ecs('DescribeTaskDefinition', { taskDefinition: arn }).then((r) => r.taskDefinition)
      .catch((e) => { definitions.delete(arn); throw e; }));
  }
  return definitions.get(arn);
}

/** Where a task's containers write their logs: {group, stream, container} for each awslogs container. */
export async function logStreams(task) {
  const def = await taskDefinition(task.taskDefinitionArn);
  const id = task.taskArn.split('/').pop();
  const out = [];
  for (const c of def.containerDefinitions || []) {
    const log = c.logConfiguration;
    if (!log || log.logDriver !== 'awslogs' || !log.options || !log.options['awslogs-group']) continue;
    const prefix = log.options['awslogs-stream-prefix'];
    out.push({ group: log.options['awslogs-group'], stream: prefix ? `${prefix}/${c.name}/${id}` : id, container: c.name });
  }
  return out;
}

export async function containerInstances(cluster) {
  const arns = await listAll('ListContainerInstances', { cluster }, 'containerInstanceArns');
  return describeVisible(arns, 100, async (batch) =>
    (await ecs('DescribeContainerInstances', { cluster, containerInstances: batch })).containerInstances || []);
}

export function resource(list, name) {
  const r = (list || []).find((x) => x.name === name);
  return r ? (r.integerValue ?? r.doubleValue ?? r.longValue ?? 0) : 0;
}

/** A service's health in one word: what a person scanning a list needs. */
export function serviceHealth(s) {
  const primary = (s.deployments || []).find((d) => d.status === 'PRIMARY');
  if (primary && primary.rolloutState === 'FAILED') return 'FAILED';
  if ((s.deployments || []).length > 1) return 'IN_PROGRESS';
  if (s.status !== 'ACTIVE') return s.status;
  if (s.runningCount < s.desiredCount) return 'DEGRADED';
  return 'HEALTHY';
}

export { pooled };
