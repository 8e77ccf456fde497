import Foundation
import StowageModel

/// Host probing: what the instance offers (resources, attributes) as it registers.
extension Agent {
    func attributes() -> [Attribute] {
        var all: [String: String] = [
            "ecs.os-type": "linux", "ecs.availability-zone": config.zone, "ecs.cpu-architecture": Self.architecture,
            "stowage.hostname": config.hostname, "stowage.driver": runtime.kind,
            AgentProtocol.portRangeAttribute: "\(config.portRange.lowerBound)-\(config.portRange.upperBound)",
            AgentProtocol.hostAddressAttribute: config.hostAddress ?? bridgeHostAddress ?? Self.sourceAddress(toward: server.endpoint) ?? "127.0.0.1",
        ]
        if let address = resolverAddress { all[AgentProtocol.resolverAttribute] = address }
        if let problem = resolverProblem { all[AgentProtocol.resolverAttribute] = "unavailable: \(problem)" }
        for (name, value) in config.attributes { all[name] = value }
        // ECS's capability attributes carry no value; the command line keeps custom attributes out of their names.
        var granted = config.hostAllowance.attributes.filter { all[$0.name] == nil }
        if offersTaskNetworks { granted.append(Attribute(name: AgentProtocol.awsvpcCapability, value: nil)) }
        return (all.map { Attribute(name: $0.key, value: $0.value) } + granted).sorted { $0.name < $1.name }
    }

    /// The local IPv4 address the kernel would send from to reach an endpoint's host: a UDP socket is "connected"
    /// (no packet leaves) and asked for its own name.
    static func sourceAddress(toward endpoint: String) -> String? {
        guard let url = URL(string: endpoint), let host = url.host else { return nil }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(url.port ?? 443), &hints, &found) == 0, let first = found else { return nil }
        defer { freeaddrinfo(found) }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { return nil }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &local.sin_addr, &text, socklen_t(text.count)) != nil else { return nil }
        return String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static var architecture: String {
        #if arch(arm64)
        "arm64"
        #else
        "x86_64"
        #endif
    }

    /// CPU units (cores x 1024), memory from /proc/meminfo less what is reserved, and ECS's reserved ports.
    static func resources(reservedMemory: Int) -> [Resource] {
        let cpu = ProcessInfo.processInfo.activeProcessorCount * 1024
        var memory = Int(ProcessInfo.processInfo.physicalMemory >> 20)
        if let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kb = Int(line.split(separator: " ").dropFirst().first ?? "") {
            memory = kb / 1024
        }
        return [
            Resource(name: "CPU", integer: cpu),
            Resource(name: "MEMORY", integer: max(0, memory - reservedMemory)),
            Resource(name: "PORTS", stringSet: ["22", "2375", "2376", "51678", "51679"]),
            Resource(name: "PORTS_UDP", stringSet: []),
        ]
    }
}
