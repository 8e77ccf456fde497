import Foundation
import StowageModel

/// A tenant's Cloud Map names as a DNS zone: `<service>.<namespace>` answers A and SRV records of the healthy
/// instances (at most eight, as Route 53's multivalue answers), `<instance>.<service>.<namespace>` the address
/// an SRV record points at. Names under the tenant's namespaces that match nothing are NXDOMAIN; every other
/// name is not this zone's (nil), and goes to the host's resolver.
public struct DiscoveryZone: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var records: [ServiceDiscovery.DnsRecord]
        var instances: [ServiceDiscovery.Endpoint]
    }
    var services: [String: Entry] = [:]
    var hosts: [String: (ttl: UInt32, address: [UInt8])] = [:]
    var namespaces: Set<String> = []

    public init(_ names: [ServiceDiscovery.DNSName]) {
        for n in names {
            let namespace = n.namespace.lowercased()
            namespaces.insert(namespace)
            let owner = "\(n.service.lowercased()).\(namespace)"
            let healthy = n.instances.filter { $0.ipv4.flatMap(Self.address) != nil }
            services[owner] = Entry(records: n.records, instances: healthy)
            let ttl = UInt32(clamping: n.records.first(where: { $0.type == "SRV" })?.ttl ?? n.records.first?.ttl ?? 0)
            for instance in healthy {
                guard let address = instance.ipv4.flatMap(Self.address) else { continue }
                hosts["\(Self.label(instance.id)).\(owner)"] = (ttl, address)
            }
        }
    }

    public static func == (a: DiscoveryZone, b: DiscoveryZone) -> Bool {
        a.services == b.services && a.namespaces == b.namespaces
            && a.hosts.mapValues { "\($0.ttl)/\($0.address)" } == b.hosts.mapValues { "\($0.ttl)/\($0.address)" }
    }

    /// An instance id as one DNS label: letters, digits and hyphens, at most 63 (task ids already are).
    public static func label(_ id: String) -> String {
        let mapped = id.lowercased().unicodeScalars.map { s -> Character in
            (s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s))) ? Character(s) : "-"
        }
        let text = String(mapped.prefix(63))
        return text.isEmpty ? "instance" : text
    }

    static func address(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        return parts.count == 4 ? parts : nil
    }

    /// Whether `name` lies under one of the tenant's namespaces (this zone answers for it).
    public func owns(_ name: String) -> Bool {
        namespaces.contains { name == $0 || name.hasSuffix("." + $0) }
    }

    /// The answer for a query under the tenant's namespaces, or nil for a name this zone does not own.
    public func answer(_ q: DNSQuery) -> DNSAnswer? {
        guard owns(q.name) else { return nil }
        guard q.qclass == DNSQuery.classIN || q.qclass == DNSQuery.typeANY else { return DNSAnswer(code: .refused) }
        if let host = hosts[q.name] {
            guard q.type == DNSQuery.typeA || q.type == DNSQuery.typeANY else { return DNSAnswer(code: .noError) }
            return DNSAnswer(code: .noError, answers: [.a(name: q.name, ttl: host.ttl, address: host.address)])
        }
        guard let entry = services[q.name] else {
            return DNSAnswer(code: namespaces.contains(q.name) ? .noError : .nameError)
        }
        let picked = Array(entry.instances.shuffled().prefix(DiscoveryRules.maxAnswers))
        let aRecord = entry.records.first { $0.type == "A" }
        let srvRecord = entry.records.first { $0.type == "SRV" }
        var answer = DNSAnswer(code: .noError)
        let wantsA = q.type == DNSQuery.typeA || q.type == DNSQuery.typeANY
        let wantsSRV = q.type == DNSQuery.typeSRV || q.type == DNSQuery.typeANY
        if wantsA, let aRecord {
            answer.answers += picked.compactMap { i in
                i.ipv4.flatMap(Self.address).map { .a(name: q.name, ttl: UInt32(clamping: aRecord.ttl), address: $0) }
            }
        }
        if wantsSRV, let srvRecord {
            for i in picked {
                guard let port = i.port, let ip = i.ipv4.flatMap(Self.address), let p = UInt16(exactly: port) else { continue }
                let target = "\(Self.label(i.id)).\(q.name)"
                answer.answers.append(.srv(name: q.name, ttl: UInt32(clamping: srvRecord.ttl), priority: 1, weight: 1, port: p, target: target))
                answer.additional.append(.a(name: target, ttl: UInt32(clamping: srvRecord.ttl), address: ip))
            }
        }
        return answer
    }
}
