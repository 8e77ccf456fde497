import Foundation

/// awsvpc task networking as the server plans it: each awsvpc-capable instance holds one /24 of
/// `AgentProtocol.taskAddressRange` (by index, so the platform-wide allocation is an integer), its tasks' addresses
/// come from it, and DescribeTasks shows each task's address as the elastic network interface ECS would attach.
public enum TaskNetwork {
    /// How many /24s the range holds: 100.64.0.0/10 is 2^(24-10).
    public static let subnetCount = 16_384
    /// What one account's instances may hold of the range (a sixteenth): every tenant shares it, so no one tenant's
    /// registrations can leave the others' new hosts without awsvpc.
    public static let subnetsPerAccount = 1_024
    /// Set by the server on an instance that asked for awsvpc and got no task subnet, saying why.
    public static let unavailableAttribute = "stowage.task-network"

    /// The /24 with this index, "100.64.3.0/24" for 3, "100.65.0.0/24" for 256; nil outside the range.
    public static func subnet(index: Int) -> String? {
        guard (0..<subnetCount).contains(index) else { return nil }
        return "100.\(64 + index / 256).\(index % 256).0/24"
    }

    /// Whether `text` is one of the range's /24s exactly as `subnet(index:)` writes it.
    public static func isSubnet(_ text: String) -> Bool {
        guard let range = CIDR(text), range.prefix == 24, range.bytes.count == 4, range.bytes[0] == 100, (64...127).contains(range.bytes[1])
        else { return false }
        return subnet(index: (Int(range.bytes[1]) - 64) * 256 + Int(range.bytes[2])) == text
    }

    /// Whether `address` is an IPv4 literal inside the task subnet `subnet` (an instance's `stowage.task-subnet`).
    /// A task's own address is never the subnet's network, gateway (.1, the host's side of the bridge) or broadcast.
    public static func isTaskAddress(_ address: String, in subnet: String) -> Bool {
        guard let range = CIDR(subnet), range.bytes.count == 4, let bytes = CIDR.address(address), bytes.count == 4,
              !address.contains("/"), CIDR.format(bytes) == address, range.contains(bytes) else { return false }
        return ![0, 1, 255].contains(bytes[3])
    }

    /// Whether an address is anywhere in the platform's task range (some instance's task subnet).
    public static func inTaskRange(_ address: String) -> Bool {
        guard let range = CIDR(AgentProtocol.taskAddressRange), let bytes = CIDR.address(address) else { return false }
        return range.contains(bytes)
    }

    /// ECS's private DNS name of an interface: `ip-100-64-3-7.ec2.internal`.
    public static func privateDnsName(_ address: String) -> String {
        "ip-" + address.replacingOccurrences(of: ".", with: "-") + ".ec2.internal"
    }

    /// The task's ENI attachment id: a UUID derived from the task id, so it is stable without being stored.
    public static func attachmentId(taskId: String) -> String {
        let hex = digest("attachment/" + taskId)
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4),
                     hex.dropFirst(20).prefix(12)]
        return parts.map(String.init).joined(separator: "-")
    }

    /// The task's network interface id, `eni-` and 17 hex digits as EC2 writes them, derived from the task id.
    public static func networkInterfaceId(taskId: String) -> String { "eni-" + digest("eni/" + taskId).prefix(17) }

    /// The subnet id DescribeTasks names: the instance's `ecs.subnet-id`, else the first subnet the task asked for,
    /// else one named after the instance (a host that declares no subnet is a subnet of its own).
    public static func subnetId(instanceSubnet: String?, requested: [String]?, instanceId: String?) -> String {
        instanceSubnet ?? requested?.first ?? "subnet-" + (instanceId ?? "unknown")
    }

    /// An awsvpc task's `attachments` entry and its containers' `networkInterfaces`, as DescribeTasks shows them.
    public static func attachment(taskId: String, subnetId: String, address: String?, macAddress: String? = nil, stopped: Bool)
        -> (attachment: JSONValue, networkInterface: JSONValue)
    {
        let id = attachmentId(taskId: taskId)
        var details: [JSONValue] = [
            pair("subnetId", subnetId),
            pair("networkInterfaceId", networkInterfaceId(taskId: taskId)),
        ]
        if let macAddress { details.append(pair("macAddress", macAddress)) }
        var interface: [String: JSONValue] = ["attachmentId": .string(id)]
        if let address {
            details.append(pair("privateDnsName", privateDnsName(address)))
            details.append(pair("privateIPv4Address", address))
            interface["privateIpv4Address"] = .string(address)
        }
        let attachment: JSONValue = .object([
            "id": .string(id), "type": .string("ElasticNetworkInterface"), "status": .string(stopped ? "DELETED" : "ATTACHED"),
            "details": .array(details),
        ])
        return (attachment, .object(interface))
    }

    static func pair(_ name: String, _ value: String) -> JSONValue { .object(["name": .string(name), "value": .string(value)]) }

    /// 32 hex digits from two FNV-1a passes (the ids need stability, not secrecy).
    static func digest(_ text: String) -> String {
        func fnv(_ seed: UInt64) -> String {
            let hash = text.utf8.reduce(seed) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
            let hex = String(hash, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
        return fnv(0xcbf2_9ce4_8422_2325) + fnv(0x8422_2325_cbf2_9ce4)
    }
}
