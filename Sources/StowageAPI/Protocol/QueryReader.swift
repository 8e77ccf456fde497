import Foundation
import StowageModel

/// Reads a query-protocol request and remembers every parameter it read, so that `finish()` can refuse a member
/// Stowage does not honour by its name instead of accepting it and ignoring it.
final class QueryReader {
    let request: QueryRequest
    private var read: Set<String> = ["Action", "Version"]
    /// The error code for an unknown member (a service's own validation code).
    let code: String

    init(_ request: QueryRequest, code: String = "ValidationError") {
        self.request = request
        self.code = code
    }

    func string(_ name: String) -> String? {
        read.insert(name)
        return request.string(name)
    }

    func required(_ name: String) throws(APIError) -> String {
        read.insert(name)
        return try request.required(name)
    }

    func int(_ name: String) throws(APIError) -> Int? {
        read.insert(name)
        return try request.int(name)
    }

    func bool(_ name: String) throws(APIError) -> Bool? {
        read.insert(name)
        guard let text = request.string(name) else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw APIError(code, "\(name) must be true or false; got '\(text)'.")
        }
    }

    /// `Name.member.N` strings.
    func list(_ name: String) -> [String] {
        let values = request.list(name)
        for i in 0..<values.count { read.insert("\(name).member.\(i + 1)") }
        return values
    }

    /// How many `Name.member.N.*` structures there are (N from 1 with no gap).
    func count(_ name: String) -> Int {
        var n = 0
        while request.params.keys.contains(where: { $0.hasPrefix("\(name).member.\(n + 1).") || $0 == "\(name).member.\(n + 1)" }) { n += 1 }
        return n
    }

    func tags(_ name: String = "Tags") -> [Tag] {
        let tags = request.tags(name)
        for i in 0..<tags.count {
            read.insert("\(name).member.\(i + 1).Key")
            read.insert("\(name).member.\(i + 1).Value")
        }
        return tags
    }

    /// Throws for the first parameter nothing read: a member Stowage does not honour.
    func finish() throws(APIError) {
        guard let unread = request.params.keys.filter({ !read.contains($0) }).sorted().first else { return }
        let member = unread.replacingOccurrences(of: #"\.member\.\d+"#, with: "[]", options: .regularExpression)
        throw APIError(code, "Stowage does not support the request member \(member) of \(request.action); omit it.")
    }
}
