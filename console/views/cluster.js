// One cluster: capacity reserved against registered, agents connected, its services and instances, cluster
// charts, and deletion guarded: a cluster with services or tasks cannot be deleted from the console at all.
import { ecs } from '../js/api.js';
import { services as listServices, containerInstances, resource, serviceHealth } from '../js/ecs.js';
import { chartPanel, metricSeries, alarmThresholds } from '../js/charts.js';
import { instancesTable } from './instances.js';
import { h, fill, changed, panel, table, badge, bar, stat, link, enc, failure, confirmDialog, act } from '../js/ui.js';

export async function render(main, ctx) {
  const [name] = ctx.params;
  const title = h('h1', { class: 'grow' }, name);
  const remove = h('button', { type: 'button', class: 'danger', id: 'action-delete-cluster' }, 'Delete cluster…');
  const why = h('p', { class: 'muted', id: 'delete-cluster-note' });
  const stats = h('div', { class: 'stats' });
  const capacity = h('div');
  const servicesBox = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const instancesBox = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const dims = { ClusterName: name };
  let cluster = null;

  const charts = h('div', { class: 'grid' },
    chartPanel(ctx, { id: 'chart-cluster-cpu', title: 'Cluster CPU: utilization and reservation (%)', yMax: 100,
      load: async (range) => ({ unit: '%', series: [
        ...(await metricSeries(range, { metric: 'CPUUtilization', dimensions: dims, stats: ['Average'], label: 'utilization' })),
        ...(await metricSeries(range, { metric: 'CPUReservation', dimensions: dims, stats: ['Average'], label: 'reservation' }))] }),
      thresholds: () => alarmThresholds('CPUReservation', dims) }),
    chartPanel(ctx, { id: 'chart-cluster-memory', title: 'Cluster memory: utilization and reservation (%)', yMax: 100,
      load: async (range) => ({ unit: '%', series: [
        ...(await metricSeries(range, { metric: 'MemoryUtilization', dimensions: dims, stats: ['Average'], label: 'utilization' })),
        ...(await metricSeries(range, { metric: 'MemoryReservation', dimensions: dims, stats: ['Average'], label: 'reservation' }))] }),
      thresholds: () => alarmThresholds('MemoryReservation', dims) }));

  fill(main, h('div', { class: 'crumbs' }, link('#/clusters', 'Clusters')), h('div', { class: 'toolbar' }, title, remove), stats,
    panel('Capacity', capacity), panel('Services', servicesBox), panel('Container instances', instancesBox), charts,
    h('section', { class: 'panel danger-zone', 'aria-label': 'Deleting this cluster' }, h('h2', {}, 'Deleting this cluster'), why));

  /** Why the console will not delete this cluster, or null when it may. */
  function blocker(c) {
    const parts = [];
    if (c.activeServicesCount > 0) parts.push(`${c.activeServicesCount} service(s)`);
    if (c.runningTasksCount + c.pendingTasksCount > 0) parts.push(`${c.runningTasksCount + c.pendingTasksCount} task(s)`);
    if (c.registeredContainerInstancesCount > 0) parts.push(`${c.registeredContainerInstancesCount} container instance(s)`);
    return parts.length ? `This cluster has ${parts.join(', ')}: the console does not delete a cluster that runs anything. Delete its services and deregister its instances first.` : null;
  }

  remove.addEventListener('click', async () => {
    if (!cluster) return;
    const reason = blocker(cluster);
    if (reason) {
      await confirmDialog({ title: `${name} cannot be deleted here`, confirmLabel: 'OK', message: reason });
      return;
    }
    const ok = await confirmDialog({ title: `Delete cluster ${name}`, confirmLabel: 'Delete cluster', danger: true, typeToConfirm: name,
      message: 'The cluster is empty. Deleting it makes it INACTIVE; this cannot be undone.' });
    if (!ok) return;
    const fresh = (await ecs('DescribeClusters', { clusters: [name], include: ['STATISTICS'] })).clusters[0];
    if (fresh && blocker(fresh)) { await confirmDialog({ title: `${name} cannot be deleted here`, confirmLabel: 'OK', message: blocker(fresh) }); return; }
    const done = await act(remove, () => ecs('DeleteCluster', { cluster: name }), `Cluster ${name} deleted.`);
    if (done) ctx.navigate('#/clusters');
  });

  const load = async () => {
    try {
      const out = await ecs('DescribeClusters', { clusters: [name], include: ['STATISTICS'] });
      cluster = (out.clusters || [])[0];
      if (!ctx.alive) return;
      if (!cluster) { fill(stats, failure({ message: 'No such cluster.' })); return; }
      fill(title, name, ' ', badge(cluster.status));
      const reason = blocker(cluster);
      remove.setAttribute('aria-disabled', reason ? 'true' : 'false');
      remove.title = reason || 'Delete this empty cluster (you will type its name to confirm)';
      why.textContent = reason || 'The cluster is empty: it can be deleted (type its name to confirm).';
      changed(stats, [cluster.registeredContainerInstancesCount, cluster.activeServicesCount, cluster.runningTasksCount, cluster.pendingTasksCount], () => [
        stat(cluster.registeredContainerInstancesCount, 'instances'), stat(cluster.activeServicesCount, 'services'),
        stat(cluster.runningTasksCount, 'running tasks'), stat(cluster.pendingTasksCount, 'pending tasks')]);
    } catch (e) {
      if (ctx.alive) fill(stats, failure(e));
      return;
    }
    try {
      const instances = (await containerInstances(name)).map((i) => ({ ...i, cluster: name }));
      const sum = (key, res) => instances.reduce((n, i) => n + resource(i[key], res), 0);
      const cpuTotal = sum('registeredResources', 'CPU');
      const memTotal = sum('registeredResources', 'MEMORY');
      const connected = instances.filter((i) => i.agentConnected).length;
      if (!ctx.alive) return;
      changed(capacity, [cpuTotal, memTotal, sum('remainingResources', 'CPU'), sum('remainingResources', 'MEMORY'), connected, instances.length], () =>
        h('div', { class: 'grid' },
          h('div', {}, h('b', {}, 'CPU reserved'), bar(cpuTotal - sum('remainingResources', 'CPU'), cpuTotal, `${cpuTotal - sum('remainingResources', 'CPU')} of ${cpuTotal} CPU units reserved`)),
          h('div', {}, h('b', {}, 'Memory reserved'), bar(memTotal - sum('remainingResources', 'MEMORY'), memTotal, `${memTotal - sum('remainingResources', 'MEMORY')} of ${memTotal} MiB reserved`)),
          h('div', {}, h('b', {}, 'Agents connected'), bar(connected, instances.length, `${connected} of ${instances.length} agents connected`, { progress: true }))));
      changed(instancesBox, instances, () => instancesTable(instances, { refresh: load }));
    } catch (e) {
      if (ctx.alive) fill(instancesBox, failure(e));
    }
    try {
      const list = await listServices(name);
      if (ctx.alive) changed(servicesBox, list, () => table([
        { title: 'Service', cell: (s) => link(`#/clusters/${enc(name)}/services/${enc(s.serviceName)}`, s.serviceName) },
        { title: 'Health', cell: (s) => badge(serviceHealth(s)) },
        { title: 'Desired', num: true, cell: (s) => s.desiredCount },
        { title: 'Running', num: true, cell: (s) => s.runningCount },
        { title: 'Pending', num: true, cell: (s) => s.pendingCount },
      ], list, { empty: 'No services you may see.' }));
    } catch (e) {
      if (ctx.alive) fill(servicesBox, failure(e));
    }
  };
  await load();
  ctx.every(10000, load);
}
