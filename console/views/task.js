// One task: status and health of each container, exit codes and restarts, per-container CPU and memory
// charts from the agent's samples, and the task's logs, followed live.
import { ecs } from '../js/api.js';
import { logStreams } from '../js/ecs.js';
import { chartPanel, taskSeries } from '../js/charts.js';
import { logPanel } from '../js/logs.js';
import { stopTask, hostPorts } from './tasks.js';
import { h, fill, changed, panel, table, badge, stat, when, shortArn, link, enc, failure } from '../js/ui.js';

export async function render(main, ctx) {
  const [cluster, id] = ctx.params;
  const title = h('h1', { class: 'grow' }, `Task ${id}`);
  const stop = h('button', { type: 'button', class: 'danger', id: 'action-stop-task' }, 'Stop task…');
  const crumbs = h('div', { class: 'crumbs' });
  const stats = h('div', { class: 'stats' });
  const containers = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  let task = null;
  stop.addEventListener('click', () => task && stopTask(stop, cluster, task, load));

  const charts = h('div', { class: 'grid' },
    chartPanel(ctx, { id: 'chart-task-cpu', title: 'CPU per container (% of reservation, or of host)',
      load: async (range) => ({ unit: '%', series: await taskSeries(range, cluster, id, 'cpu') }) }),
    chartPanel(ctx, { id: 'chart-task-memory', title: 'Memory per container (MiB)',
      load: async (range) => ({ unit: 'MiB', series: await taskSeries(range, cluster, id, 'memory') }) }));
  const logs = logPanel(ctx, { id: 'task-logs', title: `Logs of task ${id.slice(0, 12)}`,
    sources: async () => {
      if (!task) await load();
      return task ? (await logStreams(task)).map((s) => ({ ...s, label: s.container })) : [];
    } });

  fill(main, crumbs, h('div', { class: 'toolbar' }, title, stop), stats, panel('Containers', containers), charts, logs);

  async function load() {
    try {
      const out = await ecs('DescribeTasks', { cluster, tasks: [id] });
      task = (out.tasks || [])[0] || null;
      if (!ctx.alive) return;
      if (!task) { fill(containers, failure({ message: 'This task does not exist (stopped tasks are kept for a while, then forgotten).' })); return; }
      const service = task.group && task.group.startsWith('service:') ? task.group.slice(8) : null;
      changed(crumbs, [service], () => [link('#/services', 'Services'), ' / ', link(`#/clusters/${enc(cluster)}`, cluster),
        service ? [' / ', link(`#/clusters/${enc(cluster)}/services/${enc(service)}`, service)] : null]);
      stop.disabled = task.desiredStatus === 'STOPPED';
      changed(stats, [task.lastStatus, task.healthStatus, task.taskDefinitionArn, task.stoppedReason, task.startedAt], () => [
        h('div', { class: 'stat' }, h('b', {}, badge(task.lastStatus)), h('span', {}, 'last status')),
        h('div', { class: 'stat' }, h('b', {}, badge(task.healthStatus || 'UNKNOWN')), h('span', {}, 'health')),
        stat(shortArn(task.taskDefinitionArn), 'task definition'),
        h('div', { class: 'stat' }, h('b', {}, when(task.startedAt || task.createdAt)), h('span', {}, 'started')),
        task.stoppedReason ? stat(task.stoppedReason, 'stopped reason') : null,
        hostPorts(task) ? stat(hostPorts(task), 'host ports') : null]);
      changed(containers, task.containers, () => table([
        { title: 'Container', cell: (c) => c.name },
        { title: 'Last status', cell: (c) => badge(c.lastStatus) },
        { title: 'Health', cell: (c) => badge(c.healthStatus || 'UNKNOWN') },
        { title: 'Restarts', num: true, cell: (c) => c.restartCount || 0 },
        { title: 'Exit code', num: true, cell: (c) => c.exitCode ?? '—' },
        { title: 'Reason', cell: (c) => c.reason || '' },
        { title: 'Image', narrow: true, cell: (c) => h('code', {}, c.image || '') },
        { title: 'Digest', narrow: true, cell: (c) => h('code', {}, c.imageDigest || '—') },
        { title: 'Ports', cell: (c) => (c.networkBindings || []).map((b) => `${b.hostPort}→${b.containerPort}`).join(', ') || '—' },
      ], task.containers || []));
    } catch (e) {
      if (ctx.alive) fill(containers, failure(e));
    }
  }
  await load();
  ctx.every(5000, load);
}
