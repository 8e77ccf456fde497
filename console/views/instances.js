// Container instances: CPU and memory reserved against registered, the agent's connection, and draining.
import { ecs } from '../js/api.js';
import { clusters, containerInstances, resource } from '../js/ecs.js';
import { h, fill, changed, table, badge, bar, when, failure, confirmDialog, act, link, enc } from '../js/ui.js';

export function instancesTable(rows, { refresh } = {}) {
  return table([
    { title: 'Instance', cell: (i) => h('code', {}, i.containerInstanceArn.split('/').pop().slice(0, 12)) },
    { title: 'Cluster', narrow: true, cell: (i) => link(`#/clusters/${enc(i.cluster)}`, i.cluster) },
    { title: 'Host', narrow: true, cell: (i) => i.ec2InstanceId || '—' },
    { title: 'Status', cell: (i) => badge(i.status) },
    { title: 'Agent', cell: (i) => badge(i.agentConnected ? 'connected' : 'disconnected', i.agentConnected ? 'ok' : 'bad') },
    { title: 'CPU reserved', cell: (i) => reserved(i, 'CPU', 'units') },
    { title: 'Memory reserved', cell: (i) => reserved(i, 'MEMORY', 'MiB') },
    { title: 'Tasks', num: true, cell: (i) => `${i.runningTasksCount} running, ${i.pendingTasksCount} pending` },
    { title: 'Registered', narrow: true, cell: (i) => when(i.registeredAt) },
    { title: 'Actions', cell: (i) => i.status !== 'ACTIVE' ? '' : (() => {
      const b = h('button', { type: 'button', dataset: { instance: i.containerInstanceArn.split('/').pop() } }, 'Drain…');
      b.addEventListener('click', async () => {
        const ok = await confirmDialog({ title: 'Drain this instance', confirmLabel: 'Drain',
          message: `Stowage will place no new tasks on ${i.ec2InstanceId || 'this instance'} and will move its ${i.runningTasksCount} service task(s) to other instances, starting each replacement before stopping the old task. Tasks started with RunTask are left to finish.` });
        if (!ok) return;
        await act(b, () => ecs('UpdateContainerInstancesState', { cluster: i.cluster, containerInstances: [i.containerInstanceArn], status: 'DRAINING' }), 'Instance draining.');
        if (refresh) refresh();
      });
      return b;
    })() },
  ], rows, { empty: 'No container instances.' });
}

function reserved(i, name, unit) {
  const total = resource(i.registeredResources, name);
  const free = resource(i.remainingResources, name);
  return bar(total - free, total, `${total - free} of ${total} ${unit}`);
}

export async function render(main, ctx) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, h('h1', {}, 'Container instances'), body);
  const load = async () => {
    try {
      const all = [];
      for (const c of await clusters()) {
        if (c.status !== 'ACTIVE') continue;
        try {
          all.push(...(await containerInstances(c.clusterName)).map((i) => ({ ...i, cluster: c.clusterName })));
        } catch (e) { if (!e.denied) throw e; }
      }
      if (ctx.alive) changed(body, all, () => instancesTable(all, { refresh: load }));
    } catch (e) {
      if (ctx.alive) fill(body, failure(e));
    }
  };
  await load();
  ctx.every(10000, load);
}
