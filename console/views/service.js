// One service: counts and health, deployments with rollout progress and their timeline, circuit-breaker and
// rollback events, tasks with health, CPU/memory/task-count charts, merged logs, and the safe actions.
import { ecs, rest } from '../js/api.js';
import { tasks as listTasks, logStreams, serviceHealth } from '../js/ecs.js';
import { chartPanel, metricSeries, alarmThresholds } from '../js/charts.js';
import { logPanel } from '../js/logs.js';
import { tasksTable } from './tasks.js';
import { h, fill, changed, panel, table, badge, bar, stat, when, shortArn, link, enc, failure, confirmDialog, act } from '../js/ui.js';

export async function render(main, ctx) {
  const [cluster, name] = ctx.params;
  const head = h('div');
  const deployments = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const timeline = h('div');
  const events = h('div');
  const taskBox = h('div', {}, h('p', { class: 'muted' }, 'Loading tasks…'));
  const dims = { ClusterName: cluster, ServiceName: name };
  let service = null;
  let history = [];

  const charts = h('div', { class: 'grid' },
    chartPanel(ctx, { id: 'chart-cpu', title: 'CPU utilization (%)', yMax: 100,
      load: async (range) => ({ unit: '%', series: await metricSeries(range, { metric: 'CPUUtilization', dimensions: dims, label: 'CPU' }) }),
      thresholds: () => alarmThresholds('CPUUtilization', dims) }),
    chartPanel(ctx, { id: 'chart-memory', title: 'Memory utilization (%)', yMax: 100,
      load: async (range) => ({ unit: '%', series: await metricSeries(range, { metric: 'MemoryUtilization', dimensions: dims, label: 'Memory' }) }),
      thresholds: () => alarmThresholds('MemoryUtilization', dims) }),
    chartPanel(ctx, { id: 'chart-tasks', title: 'Tasks: running and desired',
      load: async (range) => ({ unit: '', series: [
        ...(await metricSeries(range, { metric: 'RunningTaskCount', dimensions: dims, stats: ['Average'], label: 'running' })),
        ...(await metricSeries(range, { metric: 'DesiredTaskCount', dimensions: dims, stats: ['Average'], label: 'desired' })),
      ] }),
      thresholds: () => alarmThresholds('RunningTaskCount', dims) }));

  let logSources = [];
  const logs = logPanel(ctx, { id: 'service-logs', title: `Logs of ${name}`, sources: async () => logSources.length ? logSources : collectLogs() });

  fill(main,
    h('div', { class: 'crumbs' }, link('#/services', 'Services'), ' / ', link(`#/clusters/${enc(cluster)}`, cluster)),
    head,
    panel('Deployments', deployments, timeline),
    panel('Tasks', taskBox),
    charts,
    logs,
    panel('Events', events));

  async function collectLogs() {
    const all = await listTasks(cluster, { serviceName: name, stopped: true });
    const found = [];
    for (const t of all.slice(0, 100)) {
      for (const s of await logStreams(t).catch(() => [])) {
        found.push({ ...s, label: `${s.container}/${t.taskArn.split('/').pop().slice(0, 8)}` });
      }
    }
    logSources = found;
    return found;
  }

  async function load() {
    try {
      const out = await ecs('DescribeServices', { cluster, services: [name] });
      service = (out.services || [])[0];
      if (!service) { fill(head, h('h1', {}, name), failure({ message: 'This service does not exist (or was deleted).' })); return; }
      history = (await rest('GET', `/v1/clusters/${enc(cluster)}/services/${enc(name)}/deployments`).catch(() => ({ deployments: [] }))).deployments;
      if (!ctx.alive) return;
      drawHead();
      drawDeployments();
      drawEvents();
    } catch (e) {
      if (ctx.alive) fill(head, h('h1', {}, name), failure(e));
    }
    try {
      const all = await listTasks(cluster, { serviceName: name, stopped: true });
      if (ctx.alive) changed(taskBox, all, () => tasksTable(cluster, all, { refresh: load }));
    } catch (e) {
      if (ctx.alive) fill(taskBox, failure(e));
    }
  }

  const title = h('h1', { class: 'grow' }, name);
  const stats = h('div', { class: 'stats' });
  const scale = h('button', { type: 'button', id: 'action-scale' }, 'Scale…');
  const force = h('button', { type: 'button', id: 'action-force-deploy' }, 'Force new deployment');
  const rollback = h('button', { type: 'button', id: 'action-rollback' }, 'Roll back…');
  const remove = h('button', { type: 'button', class: 'danger', id: 'action-delete-service' }, 'Delete service…');
  fill(head, h('div', { class: 'toolbar' }, title, scale, force, rollback, remove), stats);

  scale.addEventListener('click', async () => {
    const s = service;
    if (!s) return;
    const value = await confirmDialog({
      title: `Scale ${s.serviceName}`, confirmLabel: 'Scale',
      message: (field) => {
        const note = h('p', {}, `Now ${s.desiredCount} desired, ${s.runningCount} running.`);
        const effect = h('p', { class: 'muted', id: 'scale-effect' });
        const update = () => {
          const n = Number(field.value);
          effect.textContent = !Number.isInteger(n) || n < 0 ? 'Enter a whole number, 0 or more.'
            : n > s.desiredCount ? `Stowage will start ${n - s.desiredCount} more task(s).`
              : n < s.desiredCount ? `Stowage will stop ${s.desiredCount - n} task(s)${s.loadBalancers && s.loadBalancers.length ? ', draining them from the load balancer first' : ''}.`
                : 'No change.';
        };
        field.addEventListener('input', update);
        queueMicrotask(update);
        return [note, effect];
      },
      input: { label: 'Desired tasks', type: 'number', value: s.desiredCount, min: 0 },
    });
    if (value === null) return;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) return;
    await act(scale, () => ecs('UpdateService', { cluster, service: name, desiredCount: n }), `Desired count of ${name} set to ${n}.`);
    load();
  });
  force.addEventListener('click', async () => {
    const s = service;
    if (!s) return;
    const ok = await confirmDialog({ title: `Force a new deployment of ${s.serviceName}`, confirmLabel: 'Deploy',
      message: `Stowage will start a new deployment of ${shortArn(s.taskDefinition)}: new tasks replace the running ones (pulling images again), within the deployment's minimum healthy and maximum percent.` });
    if (!ok) return;
    await act(force, () => ecs('UpdateService', { cluster, service: name, forceNewDeployment: true }), 'New deployment started.');
    load();
  });
  rollback.addEventListener('click', async () => {
    const s = service;
    const target = previousDefinition();
    if (!s || !target) return;
    const ok = await confirmDialog({ title: `Roll back ${s.serviceName}`, confirmLabel: 'Roll back',
      message: `Stowage will deploy ${shortArn(target)} (the previous deployment) in place of ${shortArn(s.taskDefinition)}; its tasks replace the current ones as a normal rolling deployment.` });
    if (!ok) return;
    await act(rollback, () => ecs('UpdateService', { cluster, service: name, taskDefinition: target }), `Rolling back to ${shortArn(target)}.`);
    load();
  });
  remove.addEventListener('click', async () => {
    const s = service;
    if (!s) return;
    const ok = await confirmDialog({ title: `Delete service ${s.serviceName}`, confirmLabel: 'Delete service', danger: true, typeToConfirm: s.serviceName,
      message: `Stowage will stop all ${s.runningCount + s.pendingCount} task(s) of this service and delete it. This cannot be undone.` });
    if (!ok) return;
    const done = await act(remove, () => ecs('DeleteService', { cluster, service: name, force: true }), `Service ${name} is being deleted.`);
    if (done) ctx.navigate('#/services');
  });

  // Requests through the service's load balancers: each target group's RequestCount, published by `stowage lb`.
  let requestChart = false;
  function addRequestChart() {
    const groups = (service.loadBalancers || []).map((lb) => lb.targetGroupArn).filter(Boolean);
    if (requestChart || !groups.length) return;
    requestChart = true;
    charts.append(chartPanel(ctx, { id: 'chart-requests', title: 'Requests through the load balancer (per period)',
      load: async (range) => ({ unit: '', series: (await Promise.all(groups.map((arn) => metricSeries(range, {
        namespace: 'AWS/ApplicationELB', metric: 'RequestCount', stats: ['Sum'], label: arn.split('/').slice(-2, -1)[0],
        dimensions: { TargetGroup: arn.slice(arn.indexOf('targetgroup/')) } })))).flat() }),
      thresholds: async () => (await Promise.all(groups.map((arn) =>
        alarmThresholds('RequestCount', { TargetGroup: arn.slice(arn.indexOf('targetgroup/')) }, 'AWS/ApplicationELB')))).flat() }));
  }

  function drawHead() {
    const s = service;
    addRequestChart();
    fill(title, s.serviceName, ' ', badge(serviceHealth(s)));
    const previous = previousDefinition();
    rollback.disabled = !previous;
    rollback.title = previous ? `Deploy ${shortArn(previous)} again` : 'No earlier deployment to return to';
    changed(stats, [s.desiredCount, s.runningCount, s.pendingCount, s.taskDefinition, s.status], () => [
      stat(s.desiredCount, 'desired'), stat(s.runningCount, 'running'), stat(s.pendingCount, 'pending'),
      stat(shortArn(s.taskDefinition), 'task definition'), stat(s.status, 'status')]);
  }

  /** The task definition of the newest deployment before the current one that ran something else. */
  function previousDefinition() {
    if (!service) return null;
    const current = service.taskDefinition;
    const older = history.find((d) => d.status !== 'PRIMARY' && d.taskDefinition !== current);
    return older ? older.taskDefinition : null;
  }

  function drawDeployments() {
    const list = service.deployments || [];
    changed(deployments, [service.deployments, history], () => table([
      { title: 'Status', cell: (d) => badge(d.status) },
      { title: 'Rollout', cell: (d) => [badge(d.rolloutState), d.rolloutStateReason ? h('div', { class: 'muted' }, d.rolloutStateReason) : null] },
      { title: 'Task definition', cell: (d) => shortArn(d.taskDefinition) },
      { title: 'Progress', cell: (d) => bar(d.runningCount, d.desiredCount, `${d.runningCount} of ${d.desiredCount} running, ${d.pendingCount} pending`, { progress: true }) },
      { title: 'Failed tasks', num: true, cell: (d) => d.failedTasks ?? 0 },
      { title: 'Started', narrow: true, cell: (d) => when(d.createdAt) },
      { title: 'Updated', narrow: true, cell: (d) => when(d.updatedAt) },
    ], list, { empty: 'No deployments.' }));
    changed(timeline, history, () => history.length ? [h('h2', {}, 'Deployment timeline'), h('ol', { class: 'timeline', id: 'deployment-timeline' },
      history.map((d) => h('li', { class: `${d.status} ${d.rolloutState}` },
        h('b', {}, shortArn(d.taskDefinition)), ' ', badge(d.status), ' ', badge(d.rolloutState), ' ', when(d.createdAt),
        d.rolloutStateReason ? h('div', { class: 'muted' }, d.rolloutStateReason) : null)))] : []);
  }

  function drawEvents() {
    const list = service.events || [];
    const important = (m) => /circuit breaker|roll(ed|ing)? ?back|rollback|failed|unhealthy|unable/i.test(m);
    changed(events, list.slice(0, 100).map((e) => e.id || e.createdAt), () => list.length ? h('ul', { class: 'events', id: 'service-events' }, list.slice(0, 100).map((e) =>
      h('li', { class: important(e.message) ? 'highlight' : undefined }, when(e.createdAt), ' ', e.message))) : h('p', { class: 'muted' }, 'No events yet.'));
  }

  await load();
  ctx.every(5000, load);
}
