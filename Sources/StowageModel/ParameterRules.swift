import Foundation

/// Parameter Store's rules as AWS documents them: names, hierarchy, values, labels, selectors, patterns.
/// Pure, so the API and the secrets injection agree on what a parameter reference means.
public enum ParameterRules {
    public static let types: Set<String> = ["String", "StringList", "SecureString"]
    public static let tiers: Set<String> = ["Standard", "Advanced", "Intelligent-Tiering"]
    /// The only KMS key Stowage accepts by name: SecureStrings are sealed under Stowage's own per-tenant key.
    public static let defaultKeyId = "alias/aws/ssm"
    public static let maxLevels = 15
    public static let maxVersions = 100
    public static let maxLabelsPerVersion = 10
    /// A fully qualified name (with the ARN before it) may be this long, as AWS documents.
    public static let maxQualifiedName = 1011

    static func error(_ code: String, _ message: String) -> APIError { APIError(code, message) }
    public static func validation(_ message: String) -> APIError { APIError("ValidationException", message) }

    /// Checks a parameter name (not a selector, not an ARN).
    public static func checkName(_ name: String, arnPrefix: String) throws(APIError) {
        guard !name.isEmpty else { throw validation("Parameter name must not be empty.") }
        guard arnPrefix.count + name.count <= maxQualifiedName else {
            throw validation("Parameter name is too long: a fully qualified name may be \(maxQualifiedName) characters.")
        }
        guard name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_.-/".unicodeScalars.contains($0)) })
        else { throw validation("Parameter name can contain only letters, numbers and the symbols _ . - /.") }
        if name.contains("/") {
            guard name.hasPrefix("/") else { throw validation("Parameter name: a name with a / must be fully qualified (begin with /).") }
            guard !name.hasSuffix("/"), !name.contains("//") else { throw validation("Parameter name has an empty hierarchy level.") }
            guard name.split(separator: "/").count <= maxLevels else {
                throw error("HierarchyLevelLimitExceededException", "A parameter name can have at most \(maxLevels) hierarchy levels.")
            }
        }
        let first = (name.hasPrefix("/") ? name.dropFirst() : Substring(name)).lowercased()
        guard !first.hasPrefix("aws"), !first.hasPrefix("ssm") else {
            throw validation("Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).")
        }
    }

    /// The name a reference (a name, a selector `name:version` / `name:label`, or an ARN) points at, and its selector.
    public static func reference(_ text: String, partition: String = "aws") -> (name: String, account: String?, selector: Selector?) {
        var rest = text
        var account: String?
        if text.hasPrefix("arn:"), let arn = ARN(text), arn.service == "ssm", arn.resource.hasPrefix("parameter/") {
            account = arn.account
            let path = String(arn.resource.dropFirst("parameter/".count))
            rest = path.contains("/") ? "/" + path : path
        }
        guard let colon = rest.lastIndex(of: ":") else { return (rest, account, nil) }
        let name = String(rest[..<colon])
        let tail = String(rest[rest.index(after: colon)...])
        if let version = Int(tail) { return (name, account, .version(version)) }
        return (name, account, .label(tail))
    }

    /// A selector after a name: a version number or a label.
    public enum Selector: Sendable, Equatable {
        case version(Int)
        case label(String)
        public var text: String {
            switch self {
            case .version(let v): ":\(v)"
            case .label(let l): ":\(l)"
            }
        }
    }

    /// The ARN of a parameter: `parameter/` then the name without its leading slash.
    public static func arn(_ scope: ARNScope, account: String, name: String) -> String {
        "arn:\(scope.partition):ssm:\(scope.region):\(account):parameter/" + (name.hasPrefix("/") ? String(name.dropFirst()) : name)
    }

    /// The tier a value is stored at, and whether the value fits it.
    public static func tier(_ requested: String?, value: String, current: String?) throws(APIError) -> String {
        let asked = requested ?? current ?? "Standard"
        guard tiers.contains(asked) else { throw validation("Tier must be Standard, Advanced or Intelligent-Tiering.") }
        let size = value.utf8.count
        let tier = asked == "Intelligent-Tiering" ? (size > 4096 ? "Advanced" : "Standard") : asked
        if current == "Advanced", tier == "Standard", requested != nil {
            throw validation("This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier.")
        }
        let limit = tier == "Advanced" ? 8192 : 4096
        guard size <= limit else {
            throw validation("Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.".replacingOccurrences(of: "4096", with: String(limit)))
        }
        return tier
    }

    /// Matcher steps one value check may take: a few milliseconds of one thread in a release build (about a tenth
    /// of a second in a debug build). Patterns people write stay far below it on the largest (8 KiB) value, since
    /// their live states die or stay few as the text is consumed: an e-mail, URL, base64 or PEM pattern takes 25,000
    /// to 55,000 steps there (`BoundedRegexTests.legitimatePatternsFitTheBudgetOn8KiBValues`). What reaches it keeps
    /// hundreds of states alive at every position (`.{0,600}.{0,600}z`, unanchored, over 8,000 `a`s), and each
    /// such put is refused after this much work instead of the twenty times more the budget allowed before.
    public static let patternBudget = 200_000

    /// Checks an AllowedPattern and the value against it. Messages name the pattern, never the value. The pattern is
    /// searched for in the value (anchors anchor), on `BoundedRegex`: a tenant's pattern must not hold a thread.
    public static func checkPattern(_ pattern: String?, value: String) throws(APIError) {
        guard let pattern else { return }
        guard pattern.count <= 1024 else { throw validation("AllowedPattern may be at most 1024 characters.") }
        let regex: BoundedRegex
        do throws(BoundedRegex.Refusal) {
            guard !pattern.isEmpty else { throw BoundedRegex.Refusal(message: "it is empty", column: 1) }
            regex = try BoundedRegex(pattern)
        } catch {
            throw self.error("InvalidAllowedPatternException", "The request does not meet the regular expression requirement: \(pattern) is not a valid pattern: \(error.message).")
        }
        switch regex.search(value, budget: patternBudget).found {
        case true?: return
        case false?:
            throw error("ParameterPatternMismatchException", "Parameter value, cannot be validated against allowedPattern: \(pattern)")
        case nil:
            throw validation("AllowedPattern \(pattern) is too costly to check against this value (more than \(patternBudget) matcher steps): simplify the pattern.")
        }
    }

    /// Whether a label is valid: 1-100 letters, digits, `.`, `-`, `_`; not starting with a digit, `aws` or `ssm`.
    public static func validLabel(_ label: String) -> Bool {
        guard (1...100).contains(label.count), let first = label.unicodeScalars.first else { return false }
        guard label.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) })
        else { return false }
        let lower = label.lowercased()
        return !CharacterSet.decimalDigits.contains(first) && !lower.hasPrefix("aws") && !lower.hasPrefix("ssm")
    }

    /// Whether `name` lies under `path` (directly, or at any depth when recursive).
    public static func under(_ name: String, path: String, recursive: Bool) -> Bool {
        let base = path.hasSuffix("/") ? path : path + "/"
        guard name.hasPrefix(base), name.count > base.count else { return false }
        return recursive || !name.dropFirst(base.count).contains("/")
    }
}

/// A parameter reference's filter from DescribeParameters / GetParametersByPath, normalised.
public struct ParameterFilter: Sendable, Equatable {
    public var key: String
    public var option: String
    public var values: [String]

    static let keys: Set<String> = ["Name", "Type", "KeyId", "Path", "Tier", "DataType", "Label"]

    /// Normalises both filter forms; the `byPath` form allows only Type, KeyId, Label and tag filters, as AWS does.
    public static func parse(_ filters: [SSM.ParameterStringFilter], legacy: [SSM.ParametersFilter] = [], byPath: Bool = false)
        throws(APIError) -> [ParameterFilter]
    {
        var out = legacy.map { ParameterFilter(key: $0.key, option: "Equals", values: $0.values) }
        for f in legacy where !["Name", "Type", "KeyId"].contains(f.key) {
            throw APIError("InvalidFilterKey", "Filters key \(f.key) is not one of Name, Type, KeyId.")
        }
        for f in filters {
            let isTag = f.key.hasPrefix("tag:") && f.key.count > 4
            guard keys.contains(f.key) || isTag else { throw APIError("InvalidFilterKey", "The filter key \(f.key) is not valid.") }
            if byPath, !["Type", "KeyId", "Label"].contains(f.key), !isTag {
                throw APIError("InvalidFilterKey", "The filter key \(f.key) is not valid for GetParametersByPath.")
            }
            let option = f.option ?? (f.key == "Path" ? "OneLevel" : "Equals")
            let allowed: Set<String> = switch f.key {
            case "Path": ["Recursive", "OneLevel"]
            case "Name": ["Equals", "BeginsWith", "Contains"]
            case "Label": ["Equals"]
            default: isTag ? ["Equals", "BeginsWith"] : ["Equals", "BeginsWith"]
            }
            guard allowed.contains(option) else {
                throw APIError("InvalidFilterOption", "The filter option \(option) is not valid for key \(f.key).")
            }
            let values = f.values ?? []
            guard isTag || !values.isEmpty else { throw APIError("InvalidFilterValue", "The filter \(f.key) needs at least one value.") }
            out.append(ParameterFilter(key: f.key, option: option, values: values))
        }
        return out
    }

    /// What the filter sees of a parameter.
    public struct Subject: Sendable {
        public var name: String
        public var type: String
        public var tier: String
        public var dataType: String
        public var labels: [String]
        public var tags: [String: String]
        public init(name: String, type: String, tier: String, dataType: String, labels: [String], tags: [String: String]) {
            self.name = name; self.type = type; self.tier = tier; self.dataType = dataType; self.labels = labels; self.tags = tags
        }
    }

    public func matches(_ p: Subject) -> Bool {
        func test(_ field: String) -> Bool {
            values.contains { v in
                switch option {
                case "BeginsWith": field.hasPrefix(v)
                case "Contains": field.contains(v)
                default: field == v
                }
            }
        }
        switch key {
        case "Name":
            // AWS compares names with and without their leading slash alike.
            let bare = p.name.hasPrefix("/") ? String(p.name.dropFirst()) : p.name
            return values.contains { v in
                let value = v.hasPrefix("/") ? String(v.dropFirst()) : v
                switch option {
                case "BeginsWith": return bare.hasPrefix(value)
                case "Contains": return bare.contains(value)
                default: return bare == value
                }
            }
        case "Type": return test(p.type)
        case "Tier": return test(p.tier)
        case "DataType": return test(p.dataType)
        case "KeyId": return p.type == "SecureString" && test(ParameterRules.defaultKeyId)
        case "Label": return p.labels.contains { values.contains($0) }
        case "Path": return values.contains { ParameterRules.under(p.name, path: $0, recursive: option == "Recursive") }
        default:
            let tagKey = String(key.dropFirst(4))
            guard let value = p.tags[tagKey] else { return false }
            return values.isEmpty || test(value)
        }
    }
}
