// The tasks table the service and cluster views share: lastStatus and healthStatus side by side, where it runs,
// host ports, restarts, why it stopped, and the image digest it runs.
import { ecs } from '../js/api.js';
import { h, table, badge, when, link, enc, confirmDialog, act } from '../js/ui.js';

export function taskId(task) { return task.taskArn.split('/').pop(); }

export function hostPorts(task) {
  const ports = [];
  for (const c of task.containers || []) {
    for (const b of c.networkBindings || []) ports.push(`${b.hostPort}→${b.containerPort}/${b.protocol || 'tcp'}`);
  }
  return ports.join(', ');
}

export function restarts(task) { return (task.containers || []).reduce((n, c) => n + (c.restartCount || 0), 0); }

export function exitCodes(task) {
  return (task.containers || []).filter((c) => c.exitCode !== undefined && c.exitCode !== null)
    .map((c) => `${c.name}: ${c.exitCode}${c.reason ? ` (${c.reason})` : ''}`).join('; ');
}

export function digests(task) {
  return [...new Set((task.containers || []).map((c) => c.imageDigest).filter(Boolean))].map((d) => d.replace(/^sha256:/, '').slice(0, 12));
}

/** Stops a task after a confirmation that says what happens next. */
export async function stopTask(button, cluster, task, after) {
  const partOf = task.group && task.group.startsWith('service:') ? task.group.slice(8) : null;
  const ok = await confirmDialog({ title: `Stop task ${taskId(task).slice(0, 12)}`, confirmLabel: 'Stop task', danger: true,
    message: `Stowage will stop this task's containers (SIGTERM, then SIGKILL after the stop timeout).${partOf ? ` Service ${partOf} will start a replacement to keep its desired count.` : ''}` });
  if (!ok) return;
  await act(button, () => ecs('StopTask', { cluster, task: task.taskArn, reason: 'Stopped from the Stowage console' }), 'Task stopping.');
  if (after) after();
}

export function tasksTable(cluster, tasks, { refresh } = {}) {
  const order = { RUNNING: 0, PENDING: 1, PROVISIONING: 1, ACTIVATING: 1, DEACTIVATING: 2, STOPPING: 2, DEPROVISIONING: 2, STOPPED: 3 };
  const rows = [...tasks].sort((a, b) => (order[a.lastStatus] ?? 9) - (order[b.lastStatus] ?? 9)
    || String(b.createdAt).localeCompare(String(a.createdAt)));
  return table([
    { title: 'Task', cell: (t) => link(`#/clusters/${enc(cluster)}/tasks/${enc(taskId(t))}`, taskId(t).slice(0, 12)) },
    { title: 'Last status', cell: (t) => badge(t.lastStatus) },
    { title: 'Health', cell: (t) => badge(t.healthStatus || 'UNKNOWN') },
    { title: 'Instance', narrow: true, cell: (t) => t.containerInstanceArn ? h('code', {}, t.containerInstanceArn.split('/').pop().slice(0, 12)) : '—' },
    { title: 'Host ports', cell: (t) => hostPorts(t) || '—' },
    { title: 'Restarts', num: true, cell: (t) => restarts(t) },
    { title: 'Started', narrow: true, cell: (t) => when(t.startedAt || t.createdAt) },
    { title: 'Stopped reason / exit codes', cell: (t) => [t.stoppedReason || '', exitCodes(t) ? h('div', { class: 'muted' }, exitCodes(t)) : null] },
    { title: 'Image digest', narrow: true, cell: (t) => h('code', {}, digests(t).join(', ') || '—') },
    { title: 'Actions', cell: (t) => t.lastStatus === 'STOPPED' || t.desiredStatus === 'STOPPED' ? '' : (() => {
      const b = h('button', { type: 'button', class: 'danger', dataset: { task: taskId(t) } }, 'Stop…');
      b.addEventListener('click', () => stopTask(b, cluster, t, refresh));
      return b;
    })() },
  ], rows, { empty: 'No tasks.' });
}
