// Clusters: instances, services and tasks of each, at a glance.
import { clusters } from '../js/ecs.js';
import { h, fill, changed, table, badge, link, enc, failure } from '../js/ui.js';

export async function render(main, ctx) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, h('h1', {}, 'Clusters'), body);
  const load = async () => {
    try {
      const all = await clusters();
      if (ctx.alive) changed(body, all, () => table([
        { title: 'Cluster', cell: (c) => link(`#/clusters/${enc(c.clusterName)}`, c.clusterName) },
        { title: 'Status', cell: (c) => badge(c.status) },
        { title: 'Instances', num: true, cell: (c) => c.registeredContainerInstancesCount },
        { title: 'Services', num: true, cell: (c) => c.activeServicesCount },
        { title: 'Running tasks', num: true, cell: (c) => c.runningTasksCount },
        { title: 'Pending tasks', num: true, cell: (c) => c.pendingTasksCount },
      ], all, { empty: 'No clusters you may see.' }));
    } catch (e) {
      if (ctx.alive) fill(body, failure(e));
    }
  };
  await load();
  ctx.every(10000, load);
}
