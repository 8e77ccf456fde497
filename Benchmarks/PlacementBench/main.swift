import Foundation
import StowageModel
import StowageScheduler

// In-memory placement: 10,000 tasks onto 1,000 instances with a memberOf constraint and
// spread(zone) + binpack(memory), on one core. Prints placements per second.

let instanceCount = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 1000
let taskCount = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 10000
let zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
let types = ["t2.small", "t2.large", "m5.large", "t2.medium"]

let hosts = (0..<instanceCount).map { i in
    PlacementHost(id: "i\(i)", ec2InstanceId: "i-\(i)",
                  attributes: ["ecs.availability-zone": zones[i % 3], "ecs.instance-type": types[i % 4]],
                  cpu: 4096, memory: 16384, reservedTCP: [22, 2375, 2376, 51678])
}
let rules: ConstraintRules
do {
    rules = try ConstraintRules.parse([PlacementConstraint(type: "memberOf", expression: "attribute:ecs.instance-type =~ t2.*")])
} catch {
    fatalError("constraint: \(error)")
}
let demand = TaskDemand(cpu: 128, memory: 512, ports: [PortRequest(containerName: "web", containerPort: 80, hostPort: 0)],
                        group: "service:web", constraints: rules,
                        strategy: [.spreadAttribute("ecs.availability-zone"), .binpackMemory])

var rates: [Double] = []
for round in 0..<5 {
    var placer = Placer(hosts: hosts, seed: UInt64(round))
    let start = ContinuousClock.now
    var placed = 0
    for _ in 0..<taskCount where placer.place(demand).placement != nil { placed += 1 }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    precondition(placed == taskCount, "placed \(placed) of \(taskCount)")
    rates.append(Double(taskCount) / seconds)
}
rates.sort()
let cores = ProcessInfo.processInfo.activeProcessorCount
print(String(format: "placement: %d tasks onto %d instances (memberOf t2.*, spread(zone) + binpack(memory)), one core of %d: median %.0f placements/s (best %.0f, worst %.0f)",
             taskCount, instanceCount, cores, rates[rates.count / 2], rates.last ?? 0, rates.first ?? 0))
