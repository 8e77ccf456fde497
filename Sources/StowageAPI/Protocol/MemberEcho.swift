import Foundation
import StowageModel

/// Finds a JSON request member the input type did not read, so the JSON doors refuse it by name as the query
/// doors do (QueryDecoder) instead of accepting it and ignoring it. The decoded input is encoded again with the
/// door's encoder: a member of the request that asks for something and is missing from that echo was not
/// decoded into anything. Types whose encoding is not their decoding's mirror stay `MemberPolicy.modelled`.
enum MemberEcho {
    /// The path of the first member of `request` that the echo lacks (`DnsConfig.RoutingPolicy`,
    /// `Filters[0].Colour`), or nil when every member was read.
    static func unread(request: Data, echo: Data) -> String? {
        guard let sent = try? JSONSerialization.jsonObject(with: request.isEmpty ? Data("{}".utf8) : request),
              let read = try? JSONSerialization.jsonObject(with: echo) else { return nil }
        return unread(sent, read, path: "")
    }

    static func unread(_ sent: Any, _ read: Any, path: String) -> String? {
        switch sent {
        case let object as [String: Any]:
            let echoed = read as? [String: Any] ?? [:]
            for key in object.keys.sorted() {
                guard let value = object[key], asksForSomething(value) else { continue }
                let name = path.isEmpty ? key : "\(path).\(key)"
                guard let inner = echoed[key] else { return name }
                if let found = unread(value, inner, path: name) { return found }
            }
            return nil
        case let list as [Any]:
            let echoed = read as? [Any] ?? []
            for (index, item) in list.enumerated() {
                guard index < echoed.count else { return asksForSomething(item) ? "\(path)[\(index)]" : nil }
                if let found = unread(item, echoed[index], path: "\(path)[\(index)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }

    /// Null, false, zero and empty values ask for nothing, whatever their name (botocore never sends them unasked).
    static func asksForSomething(_ value: Any) -> Bool {
        switch value {
        case is NSNull: false
        case let number as NSNumber: number != 0
        case let list as [Any]: !list.isEmpty
        case let object as [String: Any]: !object.isEmpty
        default: true
        }
    }
}
